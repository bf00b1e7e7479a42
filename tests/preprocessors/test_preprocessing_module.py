"""The preprocessing SavedModel: API, assets, no Assert ops, tf.data, re-save, bad input."""

import pathlib
import shutil

import numpy as np
import pytest
import tensorflow as tf

from export.preprocessing_export import save_preprocessing_model
from preprocessors import packing
from preprocessors.preprocessing_module import PreprocessingModule
from preprocessors.sentencepiece import AlbertSentencepieceTokenizer
from preprocessors.wordpiece import BertWordpieceTokenizer
from tests.preprocessors import reference_packing

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


# Dynamic length (seq_length=0) on the real multilingual corpus, with a small cap so that
# real passages exceed it.
MAX_SEQ_LENGTH = 64
KINDS = ["wordpiece", "sentencepiece"]


@pytest.fixture(scope="module")
def dynamic_exported(multilingual_vocab, sp_model_dir, passages, tmp_path_factory):
    """kind -> (path, reloaded SavedModel, special tokens) of modules capped at MAX_SEQ_LENGTH."""
    tokenizers = {"wordpiece": BertWordpieceTokenizer(multilingual_vocab, False),
                  "sentencepiece": AlbertSentencepieceTokenizer(str(sp_model_dir / "spiece.model"), True)}
    out = tmp_path_factory.mktemp("dynamic")
    exported = {}
    for kind, tokenizer in tokenizers.items():
        module = PreprocessingModule(tokenizer, seq_length=32, max_seq_length=MAX_SEQ_LENGTH)
        path = save_preprocessing_model(module, out / kind)
        loaded = tf.saved_model.load(path)
        special = {k: int(v) for k, v in loaded.tokenize.get_special_tokens_dict().items()}
        exported[kind] = (path, loaded, special)
    return exported


def corpus_batches(loaded, passages, fits, size=16, count=6):
    """Batches of real passages whose pairs fit in MAX_SEQ_LENGTH (fits=True) or whose singles do not."""
    texts = passages[:1500]
    lengths = loaded.tokenize(tf.constant(texts)).row_lengths().numpy()
    if fits:
        chosen = [t for t, n in zip(texts, lengths) if 2 * n + 3 <= MAX_SEQ_LENGTH]
    else:
        chosen = [t for t, n in zip(texts, lengths) if n + 2 > MAX_SEQ_LENGTH]
    batches = [chosen[i:i + size] for i in range(0, size * count, size)]
    assert all(len(b) == size for b in batches), "the corpus has too few passages of that length"
    return batches


def packed_pair(loaded, texts):
    tokens = loaded.tokenize(tf.constant(texts))
    return [tokens[:-1], tokens[1:]]


def assert_same(got, want):
    for key in ("input_word_ids", "input_mask", "input_type_ids"):
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)


@pytest.mark.parametrize("kind", KINDS)
def test_dynamic_length_equals_python_dynamic_packing_on_corpus(dynamic_exported, passages, kind):
    _, loaded, special = dynamic_exported[kind]
    widths = set()
    for texts in corpus_batches(loaded, passages, fits=True):
        single = [loaded.tokenize(tf.constant(texts))]
        for segments in (single, packed_pair(loaded, texts)):
            want = packing.bert_pack_inputs(segments, None, special)
            for seq_length in (0, tf.constant(0)):
                assert_same(loaded.bert_pack_inputs(segments, seq_length=seq_length), want)
            width = want["input_word_ids"].shape[1]
            longest = want["input_mask"].numpy().sum(axis=1).max()
            assert width % 8 == 0 and longest <= width < longest + 8
            widths.add(width)
        assert_same(loaded(tf.constant(texts), seq_length=0), packing.bert_pack_inputs(single, None, special))
    assert len(widths) > 1, "dynamic length should follow the batch"


@pytest.mark.parametrize("kind", KINDS)
def test_dynamic_length_caps_long_texts_at_max_seq_length(dynamic_exported, passages, kind):
    _, loaded, special = dynamic_exported[kind]
    for texts in corpus_batches(loaded, passages, fits=False, count=2):
        for segments in ([loaded.tokenize(tf.constant(texts))], packed_pair(loaded, texts)):
            got = loaded.bert_pack_inputs(segments, seq_length=0)
            assert got["input_word_ids"].shape == (int(segments[0].nrows()), MAX_SEQ_LENGTH)
            assert_same(got, packing.bert_pack_inputs(segments, MAX_SEQ_LENGTH, special))
            rows = [s.to_list() for s in segments]
            for b, ids in enumerate(got["input_word_ids"].numpy().tolist()):
                assert ids == reference_packing.pack(
                    [r[b] for r in rows], MAX_SEQ_LENGTH, special["start_of_sequence_id"],
                    special["end_of_segment_id"], special["padding_id"])[0]
        assert loaded(tf.constant(texts), seq_length=0)["input_mask"].numpy().min(axis=0).sum() == MAX_SEQ_LENGTH


@pytest.mark.parametrize("kind", KINDS)
def test_root_default_and_serving_default_stay_fixed(dynamic_exported, kind):
    path, loaded, _ = dynamic_exported[kind]
    texts = tf.constant(TEXTS)
    assert loaded(texts)["input_word_ids"].shape == (3, 32)  # this module's default seq_length
    assert loaded(texts, seq_length=24)["input_word_ids"].shape == (3, 24)
    serving = loaded.signatures["serving_default"]
    assert list(serving.structured_input_signature[1]) == ["strings"]
    assert_same(serving(strings=texts), loaded(texts))
    assert tf.saved_model.load(path)(texts)["input_word_ids"].shape == (3, 32)


def test_default_module_root_is_128_and_takes_seq_length(exported):
    paths, modules, _ = exported
    loaded = tf.saved_model.load(paths["wordpiece"])
    texts = tf.constant(TEXTS)
    assert loaded(texts)["input_word_ids"].shape == (3, 128)
    assert loaded.signatures["serving_default"](strings=texts)["input_word_ids"].shape == (3, 128)
    dynamic = loaded(texts, seq_length=0)
    assert dynamic["input_word_ids"].shape[1] % 8 == 0
    assert_same(dynamic, loaded.bert_pack_inputs([loaded.tokenize(texts)], seq_length=0))
    assert_same(modules["wordpiece"](texts, seq_length=0), dynamic)
    assert modules["wordpiece"].max_seq_length == 512


@pytest.mark.parametrize("kind", KINDS)
def test_dynamic_length_of_zero_strings_is_zero_by_eight(dynamic_exported, kind):
    _, loaded, _ = dynamic_exported[kind]
    none = tf.constant([], tf.string)
    assert loaded(none, seq_length=0)["input_word_ids"].shape == (0, 8)
    tokens = loaded.tokenize(none)
    for seq_length in (0, tf.constant(0)):
        out = loaded.bert_pack_inputs([tokens, tokens], seq_length=seq_length)
        assert {v.shape for v in out.values()} == {(0, 8)}


@pytest.mark.parametrize("kind", KINDS)
def test_negative_seq_length_fails_clearly(dynamic_exported, kind):
    _, loaded, _ = dynamic_exported[kind]
    texts = tf.constant(TEXTS)
    with pytest.raises(tf.errors.InvalidArgumentError, match="seq_length is smaller than 2.*not 0"):
        loaded(texts, seq_length=-8)
    with pytest.raises(tf.errors.InvalidArgumentError, match="seq_length is smaller than 3.*not 0"):
        loaded.bert_pack_inputs([loaded.tokenize(texts)] * 2, seq_length=tf.constant(-1))


def test_constructor_refuses_lengths_beyond_the_cap(tiny_vocab):
    tokenizer = BertWordpieceTokenizer(tiny_vocab, True)
    with pytest.raises(ValueError, match="seq_length=128 exceeds max_seq_length=64"):
        PreprocessingModule(tokenizer, max_seq_length=64)
    with pytest.raises(ValueError, match="max_seq_length=3 must be a python int >= 4"):
        PreprocessingModule(tokenizer, seq_length=0, max_seq_length=3)


@pytest.mark.parametrize("kind", KINDS)
def test_tf_data_map_with_dynamic_length(dynamic_exported, passages, kind):
    _, loaded, _ = dynamic_exported[kind]
    texts = passages[:40]

    def pair(first, second):
        return loaded.bert_pack_inputs([loaded.tokenize(first), loaded.tokenize(second)], seq_length=0)

    singles = tf.data.Dataset.from_tensor_slices(texts).batch(5).map(
        lambda t: loaded(t, seq_length=0), num_parallel_calls=tf.data.AUTOTUNE)
    pairs = tf.data.Dataset.from_tensor_slices((texts, texts[::-1])).batch(5).map(
        pair, num_parallel_calls=tf.data.AUTOTUNE)
    for i, (single, packed) in enumerate(zip(singles, pairs)):
        batch = texts[i * 5:(i + 1) * 5]
        assert_same(single, loaded(tf.constant(batch), seq_length=0))
        assert_same(packed, pair(tf.constant(batch), tf.constant(texts[::-1][i * 5:(i + 1) * 5])))
        assert single["input_word_ids"].shape[1] % 8 == 0
        assert single["input_word_ids"].shape[1] <= MAX_SEQ_LENGTH


@pytest.mark.parametrize("kind", KINDS)
def test_hub_keras_layer_with_dynamic_length(dynamic_exported, passages, kind):
    """hub.KerasLayer(preprocess, arguments=dict(seq_length=0)) in a tf_keras model, by handle and by object."""
    hub = pytest.importorskip("tensorflow_hub")
    tf_keras = pytest.importorskip("tf_keras")
    path, loaded, _ = dynamic_exported[kind]
    texts = tf.constant(passages[:8])
    inputs = tf_keras.layers.Input(shape=(), dtype=tf.string)
    want = loaded(texts, seq_length=0)
    for handle in (path, hub.load(path)):
        model = tf_keras.Model(inputs, hub.KerasLayer(handle, arguments=dict(seq_length=0))(inputs))
        assert_same(model(texts), want)
    tokens = hub.KerasLayer(loaded.tokenize)(inputs)
    packed = hub.KerasLayer(loaded.bert_pack_inputs, arguments=dict(seq_length=0))([tokens, tokens])
    pair = tf_keras.Model(inputs, packed)(texts)
    assert pair["input_word_ids"].shape[1] % 8 == 0
    assert_same(pair, loaded.bert_pack_inputs([loaded.tokenize(texts)] * 2, seq_length=0))
