"""--export_type=question_answering: publish, reload with hub.load and hub.KerasLayer, fine-tune, bad input."""

import json

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub
import tf_keras

import official_encoders
from export import pipeline
from official_encoders.hub.manifest import manifest_problems, read_manifest
from official_encoders.serving.question_answering import QuestionAnsweringServer
from preprocessors.tokenizer_factory import make_tokenizer
from tests.export.tiny_models import write_vocab
from tests.official_encoders.serving import qa_data
from tests.preprocessors.conftest import tiny_sp_model  # noqa: F401  (a fixture)

SETTINGS = dict(max_seq_length=48, doc_stride=8, max_query_length=12, max_answer_length=5)
PAIRS = [
    ("who plays guitar?", "a man is playing guitar on stage"),
    ("what needs flour?", " ".join(["the recipe needs two cups of flour ."] * 12)),  # several windows
    ("how do i reset my password?", ""),
    ("the dog?", "the lazy dog sleeps on the sofa all morning , hello world !"),
]


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    work = tmp_path_factory.mktemp("qa_export")
    vocab = write_vocab(work)
    model_dir = qa_data.write_hf_qa_model(work / "hf", vocab, do_lower_case=True)
    options = pipeline.ExportOptions(source=f"hf:{model_dir}", hub_root=str(work / "hub"),
                                     export_type="question_answering", name="tiny_qa", **SETTINGS)
    summary = pipeline.run_export(options, printer=lambda line: None)
    return summary, model_dir


@pytest.fixture(scope="module")
def in_memory(published):
    _, model_dir = published
    model = official_encoders.from_pretrained(str(model_dir), task="question_answering")
    server = QuestionAnsweringServer(model, make_tokenizer(str(model_dir / "vocab.txt"), None, True), **SETTINGS)
    return model, server


def test_publishes_a_verified_versioned_artifact(published):
    summary, _ = published
    (artifact,) = summary.artifacts
    assert artifact.kind == "question_answering" and artifact.version == 1
    assert manifest_problems(artifact.path, require=True) == []
    manifest = read_manifest(artifact.path)
    assert manifest["artifact"] == "question_answering" and manifest["settings"] == dict(
        SETTINGS, version_2_with_negative=False)
    notes = json.loads(open(f"{artifact.path}/assets.extra/tf_serving.json").read())
    assert notes["inputs"] == ["question", "context"]
    assert set(notes["outputs"]) == {"answer", "start", "end", "score"}
    assert notes["required_op_libraries"] == ["tensorflow_text"] and notes["custom_ops"]
    card = open(artifact.card).read()
    assert "module-type: text-question-answering" in card and "doc_stride 8" in card
    assert "4 sample pairs answered as in memory" in summary.text()


def test_reloaded_serving_default_answers_like_the_in_memory_server(published, in_memory):
    summary, _ = published
    _, server = in_memory
    loaded = hub.load(summary.artifacts[0].path)
    questions, contexts = (tf.constant(list(x)) for x in zip(*PAIRS))
    want = server(questions, contexts)
    got = loaded.signatures["serving_default"](question=questions, context=contexts)
    for key in ("answer", "start", "end"):
        np.testing.assert_array_equal(got[key].numpy(), want[key].numpy())
    np.testing.assert_allclose(got["score"].numpy(), want["score"].numpy(), atol=1e-6)
    for (_, context), answer, start, end in zip(PAIRS, got["answer"].numpy(), got["start"], got["end"]):
        assert context[int(start):int(end)] == answer.decode()
    assert got["answer"].numpy()[2] == b"" and int(got["start"][2]) == int(got["end"][2]) == 0  # empty context


def test_reusable_root_encoder_and_assets(published, in_memory):
    summary, model_dir = published
    model, _ = in_memory
    loaded = hub.load(summary.artifacts[0].path)
    ids = tf.constant([[2, 7, 8, 3, 9, 10, 11, 3]])
    inputs = {"input_word_ids": ids, "input_mask": tf.ones_like(ids),
              "input_type_ids": tf.constant([[0, 0, 0, 0, 1, 1, 1, 1]])}
    want = model(inputs, training=False)
    layer = hub.KerasLayer(loaded, trainable=True)
    for got in (loaded(inputs, training=False), layer(inputs)):
        for key in ("start_logits", "end_logits"):
            np.testing.assert_allclose(got[key].numpy(), want[key].numpy(), atol=1e-5)
    np.testing.assert_allclose(loaded.encoder(inputs)["sequence_output"].numpy(),
                               model.encoder(inputs)["sequence_output"].numpy(), atol=1e-5)
    root_variables = {id(v) for v in loaded.variables}
    assert loaded.encoder.variables and all(id(v) in root_variables for v in loaded.encoder.variables)
    assert len(layer.trainable_weights) == len(model.trainable_variables)
    labels = open(loaded.labels_file.asset_path.numpy().decode()).read().split()
    assert labels == ["start", "end"]
    vocab = open(loaded.vocab_file.asset_path.numpy().decode()).read()
    assert vocab == (model_dir / "vocab.txt").read_text() and bool(loaded.do_lower_case.numpy())


def test_fine_tuning_through_the_reusable_root_lowers_the_loss(published):
    summary, _ = published
    inputs = {k: tf_keras.Input(shape=(None,), dtype=tf.int32, name=k)
              for k in ("input_word_ids", "input_mask", "input_type_ids")}
    logits = hub.KerasLayer(summary.artifacts[0].path, trainable=True)(inputs)
    model = tf_keras.Model(inputs, [logits["start_logits"], logits["end_logits"]])
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 100, size=(8, 16)).astype(np.int32)
    ids[:, 0], ids[:, 5], ids[:, -1] = 2, 3, 3
    batch = {"input_word_ids": ids, "input_mask": np.ones_like(ids),
             "input_type_ids": (np.arange(16) > 5).astype(np.int32)[None].repeat(8, 0)}
    starts = rng.integers(6, 12, size=8)
    targets = [starts, starts + 2]
    loss = tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=tf_keras.optimizers.Adam(1e-2), loss=[loss, loss])
    before = model.evaluate(batch, targets, verbose=0)[0]
    model.fit(batch, targets, epochs=5, verbose=0)
    after = model.evaluate(batch, targets, verbose=0)[0]
    assert after < before - 0.1, (before, after)


def test_bad_input_names_the_input(published):
    summary, _ = published
    serve = hub.load(summary.artifacts[0].path).signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="same batch size"):
        serve(question=tf.constant(["a", "b"]), context=tf.constant(["the dog"]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="question: an empty question"):
        serve(question=tf.constant(["who?", "  "]), context=tf.constant(["the dog", "the cat"]))
    long_context = " ".join(["the quick brown fox jumps over the lazy dog ."] * 400)
    out = serve(question=tf.constant(["fox?", "dog?"]), context=tf.constant([long_context, "\x00\ufffd"]))
    answer, start, end = out["answer"].numpy()[0].decode(), int(out["start"][0]), int(out["end"][0])
    assert answer and long_context[start:end] == answer
    assert out["answer"].numpy()[1] == b""


def test_settings_that_leave_no_room_are_refused(tmp_path):
    options = pipeline.ExportOptions(source="hf:/nonexistent", hub_root=str(tmp_path),
                                     export_type="question_answering", max_seq_length=64, doc_stride=40,
                                     max_query_length=24)
    with pytest.raises(ValueError, match="doc_stride 40 leaves the windows no room"):
        pipeline.run_export(options)


def test_cli_passes_the_question_answering_flags(published, tmp_path):
    import subprocess
    import sys

    from tests.export.test_cli import ROOT

    _, model_dir = published
    args = [sys.executable, "-m", "export", f"--source=hf:{model_dir}", "--export_type=question_answering",
            f"--hub_root={tmp_path}", "--max_seq_length=40", "--doc_stride=30", "--max_query_length=8"]
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1
    assert "doc_stride 30 leaves the windows no room" in out.stderr and "below 29" in out.stderr
    assert "Nothing was published." in out.stderr and not any(tmp_path.iterdir())


def test_albert_exports_with_its_sentencepiece_model(tmp_path, tiny_sp_model):  # noqa: F811
    """An ALBERT source whose directory lacks spiece.model, given --sp_model_file: the answers are
    the in-memory server's (the export's own verification) and exact substrings of the context."""
    import pathlib

    import transformers

    from tests.official_encoders.serving.albert_dirs import write_hf_albert_dir

    sp_dir = tmp_path / "sp"
    sp_dir.mkdir()
    (sp_dir / "spiece.model").write_bytes(pathlib.Path(tiny_sp_model).read_bytes())
    model_dir = write_hf_albert_dir(tmp_path / "hf_albert", sp_dir, transformers.AlbertForQuestionAnswering,
                                    do_lower_case=True, head_scale=1.0)
    (model_dir / "spiece.model").unlink()
    options = pipeline.ExportOptions(source=f"hf:{model_dir}", hub_root=str(tmp_path / "hub"),
                                     export_type="question_answering", name="tiny_albert_qa",
                                     sp_model_file=str(sp_dir / "spiece.model"), **SETTINGS)
    summary = pipeline.run_export(options, printer=lambda line: None)
    path = summary.artifacts[0].path
    assert read_manifest(path)["tokenizer"] == {"kind": "sentencepiece", "do_lower_case": True}
    contexts = ["Straße in İstanbul, 1998, a café ``quoted''.", " ".join(["Привет мир, 2020, 3,4 числа."] * 20)]
    out = hub.load(path).signatures["serving_default"](question=tf.constant(["Where?", "What?"]),
                                                       context=tf.constant(contexts))
    for context, answer, start, end in zip(contexts, out["answer"].numpy(), out["start"], out["end"]):
        assert answer and context[int(start):int(end)] == answer.decode()
