"""The convert CLI fills a from_pretrained cache entry (overwrite refusal: test_tf2's save_pretrained test)."""

import pathlib
import subprocess
import sys

import official_encoders

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _convert(*args):
    return subprocess.run([sys.executable, "-m", "export.convert", *args], cwd=ROOT, capture_output=True,
                          text=True)


def test_convert_then_from_pretrained(tmp_path):
    name = "small_bert/bert_en_uncased_L-2_H-128_A-2"
    out = tmp_path / "cache" / name
    run = _convert("--source=preset:google/bert_uncased_L-2_H-128_A-2", f"--output_dir={out}")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "summary: bert L=2 H=128 A=2" in run.stdout and "[2/2] writing" in run.stdout
    encoder = official_encoders.from_pretrained(name, cache_dir=tmp_path / "cache")
    assert encoder.config.num_layers == 2 and encoder.config.hidden_size == 128


def test_convert_keeps_a_task_head_with_its_labels(tmp_path):
    from official_encoders import build_encoder, build_task_model
    from official_encoders.checkpoints.report import ImportReport, ImportResult
    from official_encoders.checkpoints.tf2 import save_pretrained
    from tests.common.tiny_configs import tiny_config

    encoder = build_encoder(tiny_config("bert"))
    model = build_task_model("sequence_classification", encoder, id2label={0: "no", 1: "yes"})
    source = save_pretrained(ImportResult(config=encoder.config, model=encoder, encoder=encoder,
                                          report=ImportReport(), task_model=model), tmp_path / "fine_tuned")
    run = _convert(f"--source=tf2:{source}", "--task=auto", f"--output_dir={tmp_path / 'cache' / 'mine'}")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "task: sequence_classification" in run.stdout
    loaded = official_encoders.from_pretrained("mine", cache_dir=tmp_path / "cache", task="auto")
    assert loaded.id2label == {0: "no", 1: "yes"}
    for a, b in zip(loaded.classifier.weights, model.classifier.weights):
        assert (a.numpy() == b.numpy()).all(), a.path
