"""The preprocessing SavedModel: API, assets, no Assert ops, tf.data, re-save, bad input."""

import pathlib
import shutil

import numpy as np
import pytest
import tensorflow as tf

from export.preprocessing_export import save_preprocessing_model
from preprocessors.preprocessing_module import PreprocessingModule
from preprocessors.sentencepiece import AlbertSentencepieceTokenizer
from preprocessors.wordpiece import BertWordpieceTokenizer

TEXTS = ["Hello world, it's the straße!", "naïve café 中文", ""]


@pytest.fixture(scope="module")
def exported(tiny_vocab, tiny_sp_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("build_machine_dir")
    vocab = root / "vocab.txt"
    shutil.copy(tiny_vocab, vocab)
    sp = root / "spiece.model"
    shutil.copy(tiny_sp_model, sp)
    wp_module = PreprocessingModule(BertWordpieceTokenizer(str(vocab), True))
    sp_module = PreprocessingModule(AlbertSentencepieceTokenizer(str(sp), True))
    out = tmp_path_factory.mktemp("export")
    paths = {"wordpiece": save_preprocessing_model(wp_module, out / "wp"),
             "sentencepiece": save_preprocessing_model(sp_module, out / "sp")}
    return paths, {"wordpiece": wp_module, "sentencepiece": sp_module}, root


def op_types(loaded_path):
    from tensorflow.core.protobuf import saved_model_pb2
    sm = saved_model_pb2.SavedModel()
    sm.ParseFromString((pathlib.Path(loaded_path) / "saved_model.pb").read_bytes())
    ops = set()
    for meta in sm.meta_graphs:
        ops.update(n.op for n in meta.graph_def.node)
        for fn in meta.graph_def.library.function:
            ops.update(n.op for n in fn.node_def)
    return ops


@pytest.mark.parametrize("kind", ["wordpiece", "sentencepiece"])
def test_saved_model_api_and_equality_with_python_module(exported, kind):
    paths, modules, _ = exported
    loaded = tf.saved_model.load(paths[kind])
    texts = tf.constant(TEXTS)
    out = loaded(texts)
    want = modules[kind](texts)
    for key in ("input_word_ids", "input_mask", "input_type_ids"):
        assert out[key].shape == (3, 128) and out[key].dtype == tf.int32
        np.testing.assert_array_equal(out[key], want[key])
    special = loaded.tokenize.get_special_tokens_dict()
    assert set(special) == {"vocab_size", "padding_id", "start_of_sequence_id",
                            "end_of_segment_id", "mask_id"}
    assert all(v.shape == () for v in special.values())
    tokens = loaded.tokenize(texts)
    assert tokens.to_list() == modules[kind].tokenizer.tokenize(texts).to_list()
    pair = loaded.bert_pack_inputs([tokens, tokens], seq_length=16)
    assert pair["input_word_ids"].shape == (3, 16)
    assert pair["input_type_ids"].numpy().max() == 1
    assert loaded.bert_pack_inputs([tokens, tokens, tokens])["input_word_ids"].shape == (3, 128)
    with pytest.raises(tf.errors.InvalidArgumentError, match="seq_length is smaller than 3"):
        loaded.bert_pack_inputs([tokens, tokens], seq_length=2)
    if kind == "wordpiece":
        ids, starts, ends = loaded.tokenize_with_offsets(tf.constant(["Hello world"]))
        assert ids.to_list() == tokens[:1].to_list()[:1] or ids.shape[0] == 1
        assert [b"Hello world"[s:e] for s, e in zip(starts[0].numpy(), ends[0].numpy())] == [
            b"Hello", b"world"]
        assert bool(loaded.do_lower_case.numpy())


@pytest.mark.parametrize("kind", ["wordpiece", "sentencepiece"])
def test_no_assert_ops_and_no_build_path(exported, kind):
    paths, _, build_dir = exported
    ops = op_types(paths[kind])
    assert "Assert" not in ops and len(ops) > 20
    pb = (pathlib.Path(paths[kind]) / "saved_model.pb").read_bytes()
    assert str(build_dir).encode() not in pb
    assert list((pathlib.Path(paths[kind]) / "assets").iterdir())


@pytest.mark.parametrize("kind", ["wordpiece", "sentencepiece"])
def test_tf_data_map_static_and_unknown_batch(exported, kind):
    paths, modules, _ = exported
    loaded = tf.saved_model.load(paths[kind])
    texts = TEXTS * 4
    want = modules[kind](tf.constant(texts))["input_word_ids"].numpy()
    static = tf.data.Dataset.from_tensor_slices(texts).batch(4, drop_remainder=True)
    unknown = tf.data.Dataset.from_tensor_slices(texts).batch(5)
    for ds in (static, unknown):
        got = np.concatenate([b["input_word_ids"].numpy() for b in ds.map(
            loaded, num_parallel_calls=tf.data.AUTOTUNE)])
        np.testing.assert_array_equal(got, want)


def test_reload_after_resave_with_original_deleted(exported, tmp_path):
    paths, modules, _ = exported
    first = tmp_path / "first"
    shutil.copytree(paths["wordpiece"], first)
    loaded = tf.saved_model.load(str(first))
    second = tmp_path / "second"
    tf.saved_model.save(loaded, str(second))
    del loaded
    shutil.rmtree(first)
    again = tf.saved_model.load(str(second))
    texts = tf.constant(TEXTS)
    np.testing.assert_array_equal(again(texts)["input_word_ids"],
                                  modules["wordpiece"](texts)["input_word_ids"])
    assert pathlib.Path(again.vocab_file.asset_path.numpy().decode()).is_file()


@pytest.mark.parametrize("kind", ["wordpiece", "sentencepiece"])
def test_bad_input_never_crashes(exported, kind):
    paths, _, _ = exported
    loaded = tf.saved_model.load(paths[kind])
    # Zero batch: [0, 128].
    assert loaded(tf.constant([], tf.string))["input_word_ids"].shape == (0, 128)
    # Empty, whitespace-only, invalid UTF-8 (dropped), and a very long text (truncated).
    out = loaded(tf.constant([b"", b"   \t", b"\xff\xfe hello \xc3", b"hello " * 50_000]))
    ids = out["input_word_ids"].numpy()
    special = {k: int(v) for k, v in loaded.tokenize.get_special_tokens_dict().items()}
    assert ids[0, :2].tolist() == [special["start_of_sequence_id"], special["end_of_segment_id"]]
    assert ids[1, :2].tolist() == ids[0, :2].tolist()
    clean = loaded(tf.constant([" hello "]))["input_word_ids"].numpy()
    np.testing.assert_array_equal(ids[2], clean[0])
    assert out["input_mask"].numpy()[3].sum() == 128


def test_save_refuses_to_overwrite(exported, tmp_path):
    _, modules, _ = exported
    target = tmp_path / "taken"
    target.mkdir()
    (target / "x").write_text("keep")
    with pytest.raises(FileExistsError, match="never overwritten"):
        save_preprocessing_model(modules["wordpiece"], target)
    assert (target / "x").read_text() == "keep"


def test_hub_keras_layer_usage(exported):
    """The TF-Hub text recipe: hub.KerasLayer over the root, .tokenize and .bert_pack_inputs."""
    hub = pytest.importorskip("tensorflow_hub")
    tf_keras = pytest.importorskip("tf_keras")
    paths, modules, _ = exported
    texts = tf.constant(TEXTS)
    inputs = tf_keras.layers.Input(shape=(), dtype=tf.string)
    root = tf_keras.Model(inputs, hub.KerasLayer(paths["wordpiece"])(inputs))
    np.testing.assert_array_equal(root(texts)["input_word_ids"],
                                  modules["wordpiece"](texts)["input_word_ids"])
    preprocessor = hub.load(paths["wordpiece"])
    tokens = hub.KerasLayer(preprocessor.tokenize)(inputs)
    packed = hub.KerasLayer(preprocessor.bert_pack_inputs, arguments=dict(seq_length=16))(
        [tokens, tokens])
    pair = tf_keras.Model(inputs, packed)(texts)
    assert pair["input_word_ids"].shape == (3, 16)
    assert pair["input_type_ids"].numpy().max() == 1
