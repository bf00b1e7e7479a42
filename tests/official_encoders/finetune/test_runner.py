"""The task-agnostic runner on our own tiny exports and checkpoints: regression, final/ -> export,
resume after a kill, progress and TensorBoard output, mirrored against one device."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from official_encoders.finetune.params import FinetuneParams, apply_params_override
from official_encoders.finetune.run import run
from official_encoders.finetune.task_registry import task_class
from tests.official_encoders.finetune.sentence_data import write_pairs, write_scores, write_single

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny BERT as our .mlm hub export, and one without dropout as a tf2 checkpoint directory."""
    from export import pipeline
    from official_encoders.checkpoints.tf2 import save_pretrained
    from tests.export import tiny_models

    base = tmp_path_factory.mktemp("runner")
    vocab = tiny_models.write_vocab(base)
    quiet = tiny_models.tiny_result("bert", "mlm", vocab_file=vocab, hidden_dropout=0.0, attention_dropout=0.0)
    source = save_pretrained(quiet, base / "tf2")
    exported = save_pretrained(tiny_models.tiny_result("bert", "mlm", vocab_file=vocab), base / "tf2_dropout")
    summary = pipeline.run_export(pipeline.ExportOptions(
        source=f"tf2:{exported}", hub_root=str(base / "hub"), export_type="model_with_mlm", publisher="test",
        name="tiny_bert_mlm"), printer=lambda line: None)
    return {"tf2": str(source), "hub": summary.artifacts[0].path, "base": base}


def _params(tiny, tmp_path, **changes):
    tmp_path.mkdir(parents=True, exist_ok=True)
    values = dict(hub_module_url=tiny["hub"], model_dir=str(tmp_path / "run"),
                  epochs=2, batch_size=8, seq_length=16, learning_rate=0.01, dropout=0.0)
    values.update(changes)
    if "train_data" not in values:
        values["train_data"] = write_single(tmp_path / "train.tsv", 48, 1)
        values["eval_data"] = write_single(tmp_path / "dev.tsv", 16, 2)
    return FinetuneParams(**values)


def test_every_setting_is_an_override_key_and_tasks_are_registered():
    params = apply_params_override(FinetuneParams(), "task.type=question_answering,task.doc_stride=64,"
                                   "task.num_labels=1,trainer.steps_per_checkpoint=5,trainer.resume=true")
    assert (params.task, params.doc_stride, params.num_labels, params.steps_per_checkpoint, params.resume) == (
        "question_answering", 64, 1, 5, True)
    defaults = FinetuneParams()
    assert (defaults.max_query_length, defaults.doc_stride, defaults.max_answer_length,
            defaults.version_2_with_negative, defaults.n_best_size) == (64, 128, 15, False, 20)
    with pytest.raises(ValueError, match="--task='squad'; allowed: sentence_prediction, question_answering"):
        FinetuneParams(task="squad", hub_module_url="/m", train_data="t", model_dir="/m").validate()
    assert task_class("sentence_prediction").name == "sentence_prediction"
    with pytest.raises(ValueError, match="allowed: sentence_prediction"):
        task_class("nope")


def test_seq_length_defaults_per_task_and_qa_windows_are_checked_up_front():
    """--task=question_answering with no other flag works: Hugging Face's 384, whose windows move."""
    required = dict(hub_module_url="/m", train_data="t", model_dir="/m")
    assert FinetuneParams(task="question_answering", **required).validate().seq_length == 384
    assert FinetuneParams(task="tagging", **required).validate().seq_length == 128
    assert FinetuneParams(task="question_answering", seq_length=256, **required).validate().seq_length == 256
    overridden = apply_params_override(FinetuneParams(**required), "task.type=question_answering")
    assert overridden.validate().seq_length == 384
    with pytest.raises(ValueError, match="--task=question_answering: doc_stride 128 leaves the windows no room.*"
                                         "--seq_length is the max_seq_length"):
        FinetuneParams(task="question_answering", seq_length=128, **required).validate()


def test_a_listed_task_whose_module_is_missing_says_so(monkeypatch):
    import importlib

    from official_encoders.finetune import task_registry

    missing = "official_encoders.finetune.not_written_yet"
    monkeypatch.setitem(task_registry.TASKS, "not_written_yet", (lambda: importlib.import_module(missing), "X"))
    with pytest.raises(NotImplementedError, match=f"--task=not_written_yet is not available: its module {missing}"):
        task_class("not_written_yet")


def test_regression_reports_correlations_and_serves_only_a_score(tiny, tmp_path):
    params = _params(tiny, tmp_path, num_labels=1, label_column="score",
                     train_data=write_scores(tmp_path / "train.tsv", 64, 3),
                     eval_data=write_scores(tmp_path / "dev.tsv", 24, 4), epochs=3)
    summary = run(params, verbose=0)
    entries = json.loads((tmp_path / "run" / "eval_results.json").read_text())
    assert [e["epoch"] for e in entries] == [1, 2, 3]
    assert all(set(e) == {"epoch", "pearson", "spearman"} for e in entries)
    assert summary["monitor"] == "pearson" and summary["best"] == max(entries, key=lambda e: e["pearson"])
    serving = tf.saved_model.load(summary["export_dir"]).signatures["serving_default"]
    out = serving(text=tf.constant(["good great fine", "bad awful poor the"]))
    assert sorted(out) == ["score"] and out["score"].shape == (2,)
    # final/ reloaded predicts the dev set as the last evaluation did, and as the served model does.
    import official_encoders
    from official_encoders.finetune import metrics
    from official_encoders.finetune.model import RunEncoder
    from official_encoders.finetune.preprocess import make_run_text

    model = official_encoders.from_pretrained(summary["final_dir"], task="auto")
    task = task_class("sentence_prediction")(params)
    examples = task.read(params.eval_data).examples
    text = make_run_text(params, RunEncoder(None, True, model.encoder.config,
                                            str(pathlib.Path(summary["final_dir"]) / "vocab.txt")))
    predicted = task.predict_logits(model, examples, text, None)[:, 0]
    labels = np.array([float(e.label) for e in examples])
    np.testing.assert_allclose(metrics.pearson(labels, predicted), entries[-1]["pearson"], atol=1e-6)
    served = serving(text=tf.constant([e.texts[0] for e in examples]))["score"].numpy()
    np.testing.assert_allclose(served, predicted, atol=1e-5)


def test_bad_labels_name_the_file_and_can_be_skipped(tiny, tmp_path):
    dev = tmp_path / "bad.tsv"
    dev.write_text("sentence\tlabel\ngood plot\tpos\nodd plot\tmaybe\n")
    task = task_class("sentence_prediction")(_params(tiny, tmp_path))
    task.label_names(task.read(task.params.train_data).examples)
    with pytest.raises(ValueError, match=r"bad.tsv: example 2: label 'maybe' is not in the label set .*"
                                         r"--skip_bad_examples"):
        task.read(str(dev))
    task.params.skip_bad_examples = True
    result = task.read(str(dev))
    assert len(result.examples) == 1 and len(result.skipped) == 1 and "'maybe'" in result.skipped[0]
    scores = tmp_path / "scores.tsv"
    scores.write_text("sentence\tscore\ngood\t4.0\nbad\tlow\n")
    regression = task_class("sentence_prediction")(_params(tiny, tmp_path, num_labels=1, label_column="score"))
    with pytest.raises(ValueError, match=r"scores.tsv: example 2: label 'low' is not a number"):
        regression.read(str(scores))


def test_final_exports_with_the_run_settings_and_serves_as_the_run_evaluated(tiny, tmp_path):
    from export import pipeline

    params = _params(tiny, tmp_path, text_columns="first,second", label_column="same", seq_length=20,
                     train_data=write_pairs(tmp_path / "train.csv", 48, 5),
                     eval_data=write_pairs(tmp_path / "dev.csv", 16, 6))
    summary = run(params, verbose=0)
    assert summary["final_dir"] == str(tmp_path / "run" / "final")
    meta = json.loads((tmp_path / "run" / "final" / "encoder_config.json").read_text())
    assert meta["task"]["id2label"] == {"0": "0", "1": "1"}
    assert meta["task_settings"] == {"seq_length": 20, "text_pairs": True, "regression": False}
    published = pipeline.run_export(pipeline.ExportOptions(
        source=f"tf2:{summary['final_dir']}", hub_root=str(tmp_path / "hub"),
        export_type="sequence_classification", name="pairs"), printer=lambda line: None)
    path = published.artifacts[0].path
    manifest = json.loads((pathlib.Path(path) / "MANIFEST.json").read_text())
    assert manifest["text_pairs"] is True and manifest["serving_default"]["inputs"] == ["text", "text_pair"]
    published_serving = tf.saved_model.load(path).signatures["serving_default"]
    run_serving = tf.saved_model.load(summary["export_dir"]).signatures["serving_default"]
    from official_encoders.finetune.data import read_examples
    texts, labels = read_examples(params.eval_data, ["first", "second"], "same")
    inputs = dict(text=tf.constant([t[0] for t in texts]), text_pair=tf.constant([t[1] for t in texts]))
    published_out, run_out = published_serving(**inputs), run_serving(**inputs)
    assert sorted(run_out) == ["label", "probabilities", "score"]
    np.testing.assert_allclose(published_out["probabilities"], run_out["probabilities"], atol=1e-5)
    accuracy = np.mean([label.decode() == gold for label, gold in zip(run_out["label"].numpy(), labels)])
    last = json.loads((tmp_path / "run" / "eval_results.json").read_text())[-1]
    assert np.isclose(accuracy, last["accuracy"])
    # An explicit export flag wins over the recorded setting.
    single = pipeline.run_export(pipeline.ExportOptions(
        source=f"tf2:{summary['final_dir']}", hub_root=str(tmp_path / "hub"),
        export_type="sequence_classification", name="single", text_pairs=False), printer=lambda line: None)
    assert json.loads((pathlib.Path(single.artifacts[0].path) / "MANIFEST.json").read_text())["text_pairs"] is False


def test_init_checkpoint_keeps_a_task_head_whose_labels_match(tiny, tmp_path):
    first = run(_params(tiny, tmp_path / "a", init_checkpoint=f"tf2:{tiny['tf2']}", hub_module_url=None,
                        epochs=1), verbose=0)
    assert first["notes"] == [] and first["final_dir"]
    # final/ of that run holds a sequence_classification head with labels neg, pos: kept by a new run.
    again = run(_params(tiny, tmp_path / "b", init_checkpoint=f"tf2:{first['final_dir']}", hub_module_url=None,
                        epochs=1, learning_rate=1e-9), verbose=0)
    assert any("head is kept" in note for note in again["notes"]), again["notes"]
    reader_a = tf.train.load_checkpoint(os.path.join(first["final_dir"], "ckpt"))
    reader_b = tf.train.load_checkpoint(os.path.join(again["final_dir"], "ckpt"))
    head = [n for n in reader_a.get_variable_to_shape_map() if "classifier" in n and "VARIABLE_VALUE" in n]
    assert head
    for name in head:
        np.testing.assert_allclose(reader_a.get_tensor(name), reader_b.get_tensor(name), atol=1e-6)


def _cli(args, tmp_path, **popen):
    return subprocess.Popen([sys.executable, "-m", "official_encoders.finetune", *args], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO_ROOT), TFHUB_CACHE_DIR=str(tmp_path / "cache")),
                            **popen)


def _final_weights(final_dir):
    reader = tf.train.load_checkpoint(os.path.join(final_dir, "ckpt"))
    return {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map() if n.startswith("weights/")}


def test_resume_after_a_kill_mid_epoch_ends_with_the_weights_of_an_unkilled_run(tiny, tmp_path):
    """Dropout is off (the tiny config's and the head's): tf.nn.dropout's random state restarts in a
    new process, so with dropout the masks after the kill would differ. Everything else (data order
    by seed + epoch, the skipped batches, model and optimizer state) is restored exactly."""
    train = write_single(tmp_path / "train.tsv", 64, 7)
    dev = write_single(tmp_path / "dev.tsv", 16, 8)
    common = [f"--init_checkpoint=tf2:{tiny['tf2']}", f"--train_data={train}", f"--eval_data={dev}", "--epochs=3",
              "--batch_size=4", "--seq_length=16", "--learning_rate=0.005", "--dropout=0", "--steps_per_checkpoint=5",
              "--steps_per_loop=4", "--seed=3"]
    killed_dir = tmp_path / "killed"
    process = _cli(common + [f"--model_dir={killed_dir}"], tmp_path)
    deadline = time.time() + 240
    while not (killed_dir / "checkpoints" / "checkpoint").exists():
        assert process.poll() is None and time.time() < deadline, process.stderr.read()[-3000:]
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert not (killed_dir / "final").exists()
    latest = tf.train.latest_checkpoint(str(killed_dir / "checkpoints"))
    position = tf.train.load_checkpoint(latest)
    step, batch = (int(position.get_tensor(f"{k}/.ATTRIBUTES/VARIABLE_VALUE")) for k in ("step", "batch"))
    assert 0 < step < 48 and 0 < batch < 16  # killed mid-epoch, mid-run
    resumed = _cli(common + [f"--model_dir={killed_dir}", "--resume"], tmp_path)
    whole = _cli(common + [f"--model_dir={tmp_path / 'whole'}"], tmp_path)
    outputs = {}
    for name, proc in (("resumed", resumed), ("whole", whole)):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
        outputs[name] = (out, json.loads(out.split("SUMMARY ", 1)[1]))
    resumed_summary, whole_summary = outputs["resumed"][1], outputs["whole"][1]
    assert resumed_summary["resumed_from"] == latest and "Resuming from" in outputs["resumed"][0]
    assert resumed_summary["steps"] == whole_summary["steps"] == 48
    a, b = _final_weights(resumed_summary["final_dir"]), _final_weights(whole_summary["final_dir"])
    assert sorted(a) == sorted(b) and len(a) > 30
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-5, atol=1e-6, err_msg=name)
    assert resumed_summary["best"] == whole_summary["best"]

    # The progress lines show the loss and steps/s; TensorBoard holds every scalar.
    out = outputs["whole"][0]
    assert "Epoch 3/3" in out and " - loss: " in out and " - steps/s: " in out and "Best epoch by accuracy" in out
    scalars = {}
    for split in ("train", "validation"):
        for path in (tmp_path / "whole" / "logs" / split).glob("events.out.tfevents.*"):
            for event in tf.compat.v1.train.summary_iterator(str(path)):
                for value in event.summary.value:
                    scalars.setdefault((split, value.tag), []).append(
                        (event.step, float(tf.make_ndarray(value.tensor))))
    assert {("train", "loss"), ("train", "learning_rate"), ("train", "steps_per_second"),
            ("validation", "accuracy"), ("validation", "f1"), ("validation", "matthews_corrcoef")} <= set(scalars)
    np.testing.assert_allclose(scalars[("train", "learning_rate")][0][1], 0.005, rtol=1e-6)
    entries = json.loads((tmp_path / "whole" / "eval_results.json").read_text())
    assert [v for _, v in sorted(scalars[("validation", "accuracy")])] == pytest.approx(
        [e["accuracy"] for e in entries])


def test_mirrored_on_two_cpus_equals_one_device(tiny, tmp_path):
    train = write_single(tmp_path / "train.tsv", 32, 9)
    common = [f"--init_checkpoint=tf2:{tiny['tf2']}", f"--train_data={train}", "--epochs=1", "--batch_size=8",
              "--seq_length=16", "--learning_rate=0.01", "--dropout=0", "--seed=1"]
    runs = {}
    for name, extra in (("one", []), ("mirrored", ["--distribution_strategy=mirrored", "--num_cpu_devices=2"])):
        proc = _cli(common + [f"--model_dir={tmp_path / name}"] + extra, tmp_path)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
        runs[name] = json.loads(out.split("SUMMARY ", 1)[1])
    assert runs["mirrored"]["replicas"] == 2 and runs["one"]["replicas"] == 1
    np.testing.assert_allclose(runs["mirrored"]["history"]["loss"], runs["one"]["history"]["loss"], rtol=1e-4)
    a, b = _final_weights(runs["mirrored"]["final_dir"]), _final_weights(runs["one"]["final_dir"])
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-4, atol=1e-5, err_msg=name)
