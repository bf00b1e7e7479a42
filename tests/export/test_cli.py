"""The export pipeline and CLI end to end on tiny real models: every export type, family, source kind."""

import json
import os
import pathlib
import re
import signal
import subprocess
import sys

import numpy as np
import pytest

from export import pipeline, verify
from tests.export import tiny_models
from export.publish.gc import find_stray
from export.publish.staging import VersionExistsError
from official_encoders.hub.layout import published_versions
from official_encoders.hub.manifest import manifest_problems, read_manifest

ROOT = pathlib.Path(os.path.abspath(__file__)).parents[2]


@pytest.fixture(scope="module")
def hf_dirs(tmp_path_factory):
    """Hugging Face directories of tiny BERT (+MLM), ALBERT (+MLM, spiece.model), ELECTRA (+RTD)."""
    from tests.official_encoders.checkpoints.hf_dirs import write_hf_dir

    base = tmp_path_factory.mktemp("hf")
    dirs = {}
    for family, head in (("bert", "mlm"), ("albert", "mlm"), ("electra", "rtd")):
        result = tiny_models.tiny_result(family, head)
        directory = write_hf_dir(base / family, result.model, family, head=head)
        if family == "albert":
            tiny_models.write_sp_model(directory).rename(directory / "spiece.model")
        else:
            tiny_models.write_vocab(directory)
        dirs[family] = directory
    return dirs


def _export(hub_root, source, export_type, **kw):
    options = pipeline.ExportOptions(source=source, hub_root=str(hub_root), export_type=export_type, **kw)
    return pipeline.run_export(options, printer=lambda line: None)


def _python_blocks(markdown):
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.S)


def _tags(markdown):
    return dict(re.findall(r"^<!-- ([a-z-]+): (.*) -->$", markdown, flags=re.M))


def test_all_with_legacy_v1_then_a_second_version(tmp_path, hf_dirs, monkeypatch):
    import tensorflow as tf

    hub = tmp_path / "hub"
    summary = _export(hub, f"hf:{hf_dirs['bert']}", "all", legacy_v1=True, name="tiny_bert", seq_length=32)
    encoder, pre = summary.artifacts
    assert (encoder.kind, encoder.version, pre.kind, pre.version) == ("encoder", 1, "preprocessing", 1)
    assert encoder.path == str(hub / "local" / "tiny_bert" / "1")
    assert pre.path == str(hub / "local" / "tiny_bert_preprocess" / "1")
    for artifact in (encoder, pre):
        assert manifest_problems(artifact.path, require=True) == []
        assert pathlib.Path(artifact.tarball).is_file()
    manifest = read_manifest(encoder.path)
    assert manifest["source"]["kind"] == "hf"
    assert set(manifest["source"]["files"]) >= {"model.safetensors", "config.json", "vocab.txt"}
    assert manifest["source"]["identity"] == "bert"  # the directory's name: its config.json names no model
    assert manifest["config"]["hidden_size"] == 16 and manifest["heads"] == ["mlm"]
    assert manifest["verification"]["max_abs_diff"]["legacy_v1"] <= 1e-5
    pre_figures = read_manifest(pre.path)["verification"]
    assert pre_figures["mismatched_outputs"] == [] and pre_figures["python_reference"] == "FullTokenizer"
    assert re.search(r"max abs diff \(<= 1e-05 x output scale [\d.]+\): root ", summary.text())

    card = pathlib.Path(encoder.card).read_text()
    tags = _tags(card)
    assert tags["format"] == "saved_model_2" and tags["fine-tunable"] == "true"
    assert tags["module-type"] == "text-embedding" and tags["network-architecture"] == "transformer"
    assert tags["language"] == "en" and tags["asset-path"] == "local/tiny_bert/1.tar.gz"  # under the hub root
    assert "| Layers (L) | 2 |" in card and "| Attention heads (A) | 2 |" in card
    # The usage code runs as written, against the published handles, from the directory holding the hub.
    assert 'HUB_ROOT = "hub"' in card
    monkeypatch.chdir(hub.parent)
    namespace = {}
    for block in _python_blocks(card) + _python_blocks(pathlib.Path(pre.card).read_text()):
        exec(compile(block, "model_card", "exec"), namespace)
    assert "mlm" in namespace and "dataset" in namespace and "pooled_output" in namespace

    # A second export of the same model becomes version 2 and carries the changelog forward.
    second = _export(hub, f"hf:{hf_dirs['bert']}", "model", name="tiny_bert", changelog="Fine-tuned.")
    assert [a.version for a in second.artifacts] == [2]
    assert not hasattr(tf.saved_model.load(second.artifacts[0].path), "mlm")  # --export_type=model: no heads
    card2 = pathlib.Path(second.artifacts[0].card).read_text()
    changelog = card2.split("## Changelog")[1]
    assert re.search(r"- Version 2 \(\d{4}-\d\d-\d\d\): Fine-tuned\.", changelog)
    assert re.search(r"- Version 1 \(\d{4}-\d\d-\d\d\): Exported from hf bert\.", changelog)
    # Its usage names the newest companion preprocessor; version 1 is untouched.
    assert 'PREPROCESS = f"{HUB_ROOT}/local/tiny_bert_preprocess/1"' in card2
    assert manifest_problems(encoder.path, require=True) == []
    assert "Version 2" not in pathlib.Path(encoder.card).read_text()

    with pytest.raises(VersionExistsError, match="tiny_bert version 2 already exists"):
        _export(hub, f"hf:{hf_dirs['bert']}", "model", name="tiny_bert", version=2)
    assert published_versions(hub, "local", "tiny_bert") == [1, 2]


def test_albert_sentencepiece_model_with_mlm_and_preprocessing(tmp_path, hf_dirs):
    import tensorflow as tf

    hub = tmp_path / "hub"
    summary = _export(hub, f"hf:{hf_dirs['albert']}", "model_with_mlm", version=3)
    (encoder,) = summary.artifacts
    from official_encoders.models import presets

    # The default --name is the source's identity (here its directory's name), not the catalog's
    # name for its shape, which another model of that shape would share.
    assert summary.name == "albert" != presets.name_for_config(tiny_models.tiny_config("albert"))
    assert encoder.version == 3
    loaded = tf.saved_model.load(encoder.path)
    assert hasattr(loaded, "mlm") and hasattr(loaded, "sp_model_file")
    assert read_manifest(encoder.path)["tokenizer"]["kind"] == "sentencepiece"

    (pre,) = _export(hub, f"hf:{hf_dirs['albert']}", "preprocessing", seq_length=16).artifacts
    assert pre.version == 1 and pre.path.endswith("local/albert_preprocess/1")
    out = tf.saved_model.load(pre.path)(tf.constant(["hello world"]))
    assert out["input_word_ids"].shape == (1, 16)
    assert _tags(pathlib.Path(pre.card).read_text())["fine-tunable"] == "false"


def test_electra_discriminator_exports_rtd(tmp_path, hf_dirs):
    import tensorflow as tf

    (with_rtd,) = _export(tmp_path / "hub", f"hf:{hf_dirs['electra']}", "model_with_mlm").artifacts
    assert with_rtd.verification["max_abs_diff"]["rtd"] <= 1e-5
    loaded = tf.saved_model.load(with_rtd.path)
    assert hasattr(loaded, "rtd") and not hasattr(loaded, "mlm")


def test_model_with_mlm_needs_a_head(tmp_path, hf_dirs):
    from tests.official_encoders.checkpoints.hf_dirs import write_hf_dir

    result = tiny_models.tiny_result("bert", None)
    directory = write_hf_dir(tmp_path / "bare", result.model, "bert")
    tiny_models.write_vocab(directory)
    with pytest.raises(ValueError, match="no pretraining head .* use --export_type=model"):
        _export(tmp_path / "hub", f"hf:{directory}", "model_with_mlm")
    assert not (tmp_path / "hub" / "local").exists() or find_stray(tmp_path / "hub", 0) == []


def test_bad_sources_give_clear_errors_and_publish_nothing(tmp_path, hf_dirs):
    import shutil

    hub = tmp_path / "hub"
    truncated = tmp_path / "truncated"
    shutil.copytree(hf_dirs["bert"], truncated)
    data = (truncated / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(Exception, match=r"(?i)safetensors|truncat|incomplete|invalid"):
        _export(hub, f"hf:{truncated}", "model")

    from official_encoders.checkpoints.tf2 import save_pretrained

    tf2_dir = save_pretrained(tiny_models.tiny_result("bert", None, vocab_file=tiny_models.write_vocab(tmp_path)),
                              tmp_path / "tf2")
    data_file = sorted(pathlib.Path(tf2_dir).glob("ckpt.data-*"))[0]
    data_file.write_bytes(data_file.read_bytes()[:100])
    # The importer names the file and the tensor it could not read.
    with pytest.raises(ValueError, match=r"ckpt\.data-00000-of-00001.*truncated or corrupt"):
        _export(hub, f"tf2:{tf2_dir}", "model")

    mismatched = tmp_path / "mismatched"
    shutil.copytree(hf_dirs["bert"], mismatched)
    config = json.loads((mismatched / "config.json").read_text())
    config["intermediate_size"] = 48
    (mismatched / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="intermediate"):
        _export(hub, f"hf:{mismatched}", "model")

    wrong_vocab = tiny_models.write_vocab(tmp_path, size=120)
    with pytest.raises(ValueError, match="120 tokens but the encoder's vocab_size is 100"):
        _export(hub, f"hf:{hf_dirs['bert']}", "all", vocab_file=str(wrong_vocab))
    with pytest.raises(ValueError, match="--seq_length 128 exceeds the encoder's max_position_embeddings 64"):
        _export(hub, f"hf:{hf_dirs['bert']}", "all")
    with pytest.raises(ValueError, match="--source 'bert': expected hf:<dir>"):
        _export(hub, "bert", "model")
    with pytest.raises(FileNotFoundError, match="--vocab_file /nonexistent: no such file"):
        _export(hub, f"hf:{hf_dirs['bert']}", "model", vocab_file="/nonexistent")
    assert [p for p in hub.rglob("*") if re.fullmatch(r"\d+(\.tar\.gz|\.md)?", p.name)] == []
    assert list(hub.rglob(".tmp-*")) == []


def _cli(*args):
    return subprocess.Popen([sys.executable, "-m", "export", *args], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_at_each_stage_publishes_nothing_then_rerun_succeeds(tmp_path, hf_dirs):
    hub = tmp_path / "hub"
    args = [f"--source=hf:{hf_dirs['bert']}", "--export_type=all", f"--hub_root={hub}", "--name=m",
            "--seq_length=32"]
    stages = ("[3/6] save", "[4/6] verify encoder", "[5/6] verify preprocessor")
    procs = [(_cli(*args), stage) for stage in stages]
    for proc, stage in procs:
        for line in proc.stdout:
            if line.startswith(stage):
                proc.send_signal(signal.SIGKILL)
                break
        else:
            raise AssertionError(f"export ended before {stage!r}: {proc.stderr.read()[-2000:]}")
        proc.wait(timeout=120)
        assert proc.returncode == -signal.SIGKILL
    for model in ("m", "m_preprocess"):
        assert published_versions(hub, "local", model) == []
    published = [p for p in hub.rglob("*.tar.gz") if not any(part.startswith(".tmp-") for part in p.parts)]
    assert published == [] and not (hub / "docs").exists()
    leftovers = list(hub.rglob(".tmp-*"))
    assert len(leftovers) >= 3

    gc = subprocess.run([sys.executable, "-m", "export", "--gc", "--gc_older_than=0", f"--hub_root={hub}"],
                        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert gc.returncode == 0, gc.stderr
    assert f"gc: {len(leftovers)} stray entries removed" in gc.stdout
    assert list(hub.rglob(".tmp-*")) == []

    rerun = _cli(*args)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-3000:]
    assert "Export summary for m" in out and "encoder version 1" in out and "preprocessing version 1" in out
    for stage in ("[1/6] load source", "[6/6] manifest, tarball, model card, publish"):
        assert stage in out
    assert manifest_problems(hub / "local" / "m" / "1", require=True) == []
    assert manifest_problems(hub / "local" / "m_preprocess" / "1", require=True) == []


def test_cli_refuses_an_existing_version_with_a_clear_message(tmp_path, hf_dirs):
    hub = tmp_path / "hub"
    (hub / "local" / "m" / "1").mkdir(parents=True)
    (hub / "local" / "m" / "1" / "saved_model.pb").write_bytes(b"published")
    proc = _cli(f"--source=hf:{hf_dirs['bert']}", f"--hub_root={hub}", "--name=m", "--version=1")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "local/m version 1 already exists" in err and "Nothing was published." in err
    assert (hub / "local" / "m" / "1" / "saved_model.pb").read_bytes() == b"published"


def test_tf1_tf2_and_preset_sources(tmp_path):
    import types

    import tensorflow as tf
    import torch

    from official_encoders.checkpoints.tf2 import save_pretrained
    from tests.official_encoders.checkpoints.hf_dirs import hf_tensors
    from tests.official_encoders.checkpoints.tf1_writer import google_research_weights, write_tf1_checkpoint

    hub = tmp_path / "hub"
    vocab = tiny_models.write_vocab(tmp_path)

    # tf1: a google-research BERT pretraining checkpoint (with Adam slots) + bert_config.json.
    bert = tiny_models.tiny_result("bert", "mlm")
    state = {k: torch.from_numpy(v) for k, v in hf_tensors(bert.model, "bert", head="mlm", prefix="bert.").items()}
    prefix = write_tf1_checkpoint(google_research_weights(types.SimpleNamespace(state_dict=lambda: state), "bert"),
                                  str(tmp_path / "tf1" / "bert_model.ckpt"))
    config_file = tmp_path / "tf1" / "bert_config.json"
    config_file.write_text(json.dumps(bert.config.to_bert_config_json()))
    (tf1,) = _export(hub, f"tf1:{prefix}", "model_with_mlm", config_file=str(config_file),
                     vocab_file=str(vocab), do_lower_case=False).artifacts
    manifest = read_manifest(tf1.path)
    assert manifest["source"]["kind"] == "tf1" and "bert_config.json" in manifest["source"]["files"]
    assert manifest["source"]["identity"] == "tf1" and tf1.path.endswith("local/tf1/1")  # its directory
    assert manifest["tokenizer"] == {"kind": "wordpiece", "do_lower_case": False}
    loaded = tf.saved_model.load(tf1.path)
    assert bool(loaded.do_lower_case.numpy()) is False and hasattr(loaded, "mlm")
    # The export carries the checkpoint's weights, not a random initialisation.
    inputs = verify.sample_inputs(100, 2)
    np.testing.assert_allclose(loaded.mlm(inputs)["mlm_logits"], bert.model(inputs)["mlm_logits"], atol=1e-5)

    # tf2: our own checkpoint directory (save_pretrained) of an ELECTRA discriminator.
    electra = tiny_models.tiny_result("electra", "rtd", vocab_file=vocab)
    tf2_dir = save_pretrained(electra, tmp_path / "tf2")
    (tf2,) = _export(hub, f"tf2:{tf2_dir}", "model").artifacts
    assert read_manifest(tf2.path)["source"]["kind"] == "tf2"
    encoder_inputs = {k: v for k, v in inputs.items() if k != "masked_lm_positions"}
    np.testing.assert_allclose(tf.saved_model.load(tf2.path)(encoder_inputs)["sequence_output"],
                               electra.encoder(encoder_inputs)["sequence_output"], atol=1e-5)

    # preset: random initialisation of a catalog entry; its name nests like TF-Hub's.
    (tmp_path / "preset").mkdir()
    big_vocab = tiny_models.write_vocab(tmp_path / "preset", size=30522)
    (preset,) = _export(hub, "preset:small_bert/bert_en_uncased_L-2_H-128_A-2", "model",
                        vocab_file=str(big_vocab)).artifacts
    assert preset.path == str(hub / "local" / "small_bert" / "bert_en_uncased_L-2_H-128_A-2" / "1")
    assert read_manifest(preset.path)["config"]["hidden_size"] == 128


def test_preprocessor_verification_catches_a_different_tokenizer(tmp_path):
    from export.preprocessing_export import save_preprocessing_model
    from preprocessors.preprocessing_module import PreprocessingModule
    from preprocessors.wordpiece import BertWordpieceTokenizer

    vocab = str(tiny_models.write_vocab(tmp_path))
    uncased = PreprocessingModule(BertWordpieceTokenizer(vocab, True), seq_length=16)
    save_preprocessing_model(uncased, tmp_path / "pre")
    figures = verify.verify_preprocessing(tmp_path / "pre", uncased, ["Hello world", "THE DOG"])
    assert figures["python_reference"] == "FullTokenizer" and figures["mismatched_outputs"] == []
    cased = PreprocessingModule(BertWordpieceTokenizer(vocab, False), seq_length=16)
    with pytest.raises(verify.VerificationError, match=r"differs from the in-memory one on \['input_word_ids'"):
        verify.verify_preprocessing(tmp_path / "pre", cased, ["Hello world", "THE DOG"])


def test_default_name_is_the_source_identity_and_a_preset_keeps_its_catalog_name():
    import types

    from official_encoders.checkpoints.identity import SourceIdentity
    from official_encoders.models import presets

    minilm = types.SimpleNamespace(identity=SourceIdentity("sentence-transformers/all-MiniLM-L6-v2", "README.md"))
    assert pipeline.default_name(minilm, "hf:/models/anything") == "all_minilm_l6_v2"
    catalog = presets.get_preset("bert-base-uncased").name
    assert pipeline.default_name(None, "preset:bert-base-uncased") == catalog == "bert_en_uncased_L-12_H-768_A-12"
    with pytest.raises(ValueError, match=r"tf2:/ckpt does not say what model it is; pass --name"):
        pipeline.default_name(types.SimpleNamespace(identity=None), "tf2:/ckpt")
    with pytest.raises(ValueError, match=r"'東京' has no letters or digits.*--name="):
        pipeline.default_name(types.SimpleNamespace(identity=SourceIdentity("東京", "the directory name")), "hf:/x")


def _tree(hub):
    return sorted(str(p.relative_to(hub)) for p in pathlib.Path(hub).rglob("*"))


def test_published_files_name_no_machine_path(tmp_path, hf_dirs):
    import hashlib
    import shutil
    import tarfile

    source = tmp_path / "src_Zq7x_distinctive"
    shutil.copytree(hf_dirs["bert"], source)
    config = json.loads((source / "config.json").read_text())
    (source / "config.json").write_text(json.dumps(dict(config, _name_or_path="acme/Tiny-BERT.v2")))
    hub = tmp_path / "hub_Kw3p"
    lines = []
    summary = pipeline.run_export(pipeline.ExportOptions(
        source=f"hf:{source}", hub_root=str(hub), export_type="all", seq_length=32), printer=lines.append)
    # Named after what the source calls itself, and the progress says so.
    assert summary.name == "tiny_bert_v2"
    assert any("name local/tiny_bert_v2, from the source's identity 'acme/Tiny-BERT.v2' "
               "(config.json _name_or_path)" in line for line in lines)

    forbidden = [str(tmp_path), str(tmp_path.resolve()), source.name, hub.name + "/local"]
    for artifact in summary.artifacts:
        manifest = read_manifest(artifact.path)
        assert manifest["source"] == {
            "kind": "hf", "identity": "acme/Tiny-BERT.v2", "identity_from": "config.json _name_or_path",
            "files": {name: hashlib.sha256((source / name).read_bytes()).hexdigest()
                      for name in ("config.json", "model.safetensors", "vocab.txt")}}
        card = pathlib.Path(artifact.card).read_text()
        assert "Source: hf acme/Tiny-BERT.v2 " in card and "Weights:" not in card
        assert _tags(card)["asset-path"] == f"local/{pathlib.Path(artifact.path).parent.name}/1.tar.gz"
        contents = {str(p): p.read_bytes() for p in pathlib.Path(artifact.path).rglob("*") if p.is_file()}
        contents[artifact.card] = card.encode()
        with tarfile.open(artifact.tarball) as tar:
            members = [m for m in tar.getmembers() if m.isfile()]
            assert any(m.name.endswith("MANIFEST.json") for m in members)
            contents.update({f"{artifact.tarball}:{m.name}": tar.extractfile(m).read() for m in members})
        for path, data in contents.items():
            for text in forbidden:
                assert text.encode() not in data, f"{path} contains {text!r}"


def test_a_new_architecture_under_an_old_name_is_refused_unless_allowed(tmp_path, hf_dirs):
    from export.publish.version_line import ConfigChangedError
    from tests.official_encoders.checkpoints.hf_dirs import write_hf_dir

    hub = tmp_path / "hub"
    _export(hub, f"hf:{hf_dirs['bert']}", "all", name="m", seq_length=32)
    deeper = write_hf_dir(tmp_path / "deeper", tiny_models.tiny_result("bert", None, num_layers=3).model, "bert")
    tiny_models.write_vocab(deeper)
    before = _tree(hub)
    with pytest.raises(ConfigChangedError, match=r"local/m version 1 has another architecture "
                                                 r"\(num_layers 2 -> 3\).*--name=m_l3, or pass --allow_config_change"):
        _export(hub, f"hf:{deeper}", "all", name="m", seq_length=32)
    assert _tree(hub) == before  # no version, tarball, card or temp directory

    proc = _cli(f"--source=hf:{deeper}", "--export_type=all", f"--hub_root={hub}", "--name=m", "--seq_length=32",
                "--allow_config_change")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    assert "encoder version 2" in out and "preprocessing version 2" in out
    note = "Architecture changed from version 1 (--allow_config_change): num_layers 2 -> 3."
    for model in ("m", "m_preprocess"):
        assert note in read_manifest(hub / "local" / model / "2")["changelog"]
        card = (hub / "docs" / "local" / "models" / model / "2.md").read_text()
        assert note in card.split("## Changelog")[1]


def test_the_version_line_is_checked_again_under_the_publish_lock(tmp_path, hf_dirs):
    from export.publish.manifest import write_manifest
    from export.publish.staging import StagedVersion
    from export.publish.version_line import ConfigChangedError

    hub = tmp_path / "hub"
    other = dict(tiny_models.tiny_config("bert").to_dict(), num_layers=5)

    def printer(line):
        if line.startswith("[6/6] manifest"):  # another export publishes "m" with another architecture
            staged = StagedVersion(hub, "local", "m")
            staged.path.mkdir()
            (staged.path / "saved_model.pb").write_bytes(b"another model")
            write_manifest(staged.path, artifact="encoder", source=None, config=other)
            staged.publish()

    options = pipeline.ExportOptions(source=f"hf:{hf_dirs['bert']}", hub_root=str(hub), export_type="all",
                                     name="m", seq_length=32)
    with pytest.raises(ConfigChangedError, match=r"local/m version 1 has another architecture \(num_layers 5 -> 2\)"):
        pipeline.run_export(options, printer=printer)
    assert published_versions(hub, "local", "m") == [1] and published_versions(hub, "local", "m_preprocess") == []
    assert find_stray(hub, 0) == [] and not (hub / "local" / "m" / "2.tar.gz").exists()
    assert not (hub / "docs" / "local" / "models" / "m_preprocess").exists()
