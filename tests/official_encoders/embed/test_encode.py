"""official_encoders.encode on a tiny exported BERT: order, parity with a per-text loop, bad input, pooling."""

import numpy as np
import pytest
import tensorflow as tf

import official_encoders
from official_encoders.embed import SentenceEncoder
from official_encoders.embed.loading import load_encoder
from preprocessors.packing import INPUT_KEYS
from tests.official_encoders.embed import helpers

MAX_POSITIONS = 64  # tests.export.tiny_models.tiny_config


@pytest.fixture(scope="module")
def tiny(tiny_bert_hub):
    """The tiny exported BERT, loaded once (encode takes a loaded encoder as well as a handle)."""
    return load_encoder(tiny_bert_hub["encoder"])


def test_shuffled_bad_and_long_texts_equal_a_per_text_loop_in_order(tiny_bert_hub):
    pairs = helpers.mixed_texts()
    vectors = official_encoders.encode(tiny_bert_hub["encoder"], [given for given, _ in pairs], batch_size=8)
    expected = helpers.per_text_reference(tiny_bert_hub["encoder"], tiny_bert_hub["preprocessor"],
                                          [raw for _, raw in pairs], MAX_POSITIONS)
    assert vectors.dtype == np.float32 and vectors.shape == (len(pairs), 16)
    np.testing.assert_allclose(vectors, expected, atol=2e-5, rtol=1e-5)
    # Distinct texts give distinct vectors, so a permutation could not pass the check above.
    assert len({row.tobytes() for row in expected}) >= len({raw for _, raw in pairs}) - 1


def test_batches_are_packed_to_their_longest_sequence(tiny):
    encoder = SentenceEncoder(tiny)
    inputs, truncated = encoder.preprocess(tf.constant(["hello", "hello world the dog"]))
    assert inputs["input_word_ids"].shape == (2, 8) and not truncated.numpy().any()
    long_inputs, truncated = encoder.preprocess(tf.constant(["the dog " * 100]))
    assert long_inputs["input_word_ids"].shape == (1, MAX_POSITIONS) and truncated.numpy().all()


def test_counts_truncated_texts_and_honours_max_seq_length(tiny_bert_hub, tiny):
    texts = [given for given, _ in helpers.mixed_texts(seed=1)]
    raw = [raw for _, raw in helpers.mixed_texts(seed=1)]
    counts = helpers.token_counts(tiny_bert_hub["preprocessor"], raw)
    for max_seq_length in (None, 16):
        encoder = SentenceEncoder(tiny, batch_size=8, max_seq_length=max_seq_length)
        cap = max_seq_length or MAX_POSITIONS
        assert encoder.max_seq_length == cap
        result = encoder.encode(texts)
        assert result.num_truncated == sum(n + 2 > cap for n in counts) > 0
    np.testing.assert_allclose(
        result.embeddings,
        helpers.per_text_reference(tiny_bert_hub["encoder"], tiny_bert_hub["preprocessor"], raw, 16),
        atol=2e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="exceeds the encoder's max_position_embeddings 64"):
        SentenceEncoder(tiny, max_seq_length=65)


@pytest.mark.parametrize("pooling", ["cls", "pooled"])
def test_other_poolings_and_normalize(tiny_bert_hub, tiny, pooling):
    raw = [b"hello world", b"a man is playing guitar on stage", b""]
    vectors = official_encoders.encode(tiny, raw, pooling=pooling)
    expected = helpers.per_text_reference(tiny_bert_hub["encoder"], tiny_bert_hub["preprocessor"], raw,
                                          MAX_POSITIONS, pooling=pooling)
    np.testing.assert_allclose(vectors, expected, atol=2e-5, rtol=1e-5)
    unit = official_encoders.encode(tiny, raw, pooling=pooling, normalize=True)
    np.testing.assert_allclose(unit, expected / np.linalg.norm(expected, axis=1, keepdims=True),
                               atol=2e-5, rtol=1e-5)


def test_zero_texts_iterables_and_wrong_types(tiny):
    assert official_encoders.encode(tiny, []).shape == (0, 16)
    from_generator = official_encoders.encode(tiny, (t for t in ["the dog", "a cat"]))
    np.testing.assert_array_equal(from_generator, official_encoders.encode(tiny,
                                                                           ["the dog", "a cat"]))
    with pytest.raises(TypeError, match=r"texts\[1\] is a int, not a string"):
        official_encoders.encode(tiny, ["ok", 3])
    with pytest.raises(ValueError, match="no sentence_embedding output"):
        official_encoders.encode(tiny, ["ok"], pooling="sentence_embedding")
    with pytest.raises(ValueError, match="pooling='max'"):
        official_encoders.encode(tiny, ["ok"], pooling="max")


def test_progress_bar_for_long_inputs(tiny, capsys):
    encoder = SentenceEncoder(tiny, batch_size=16)
    encoder.encode(["the dog"] * 40)
    assert "encode [" not in capsys.readouterr().err
    encoder.encode(["the dog"] * 40, progress=True)
    err = capsys.readouterr().err
    assert "40/40 (100%)" in err and "0 truncated to 64 tokens" in err


class _WithSentenceEmbedding(tf.Module):
    """The tiny encoder plus a `sentence_embedding` output (here: the L2-normalised [CLS] vector)."""

    def __init__(self, encoder_dir):
        super().__init__()
        self.encoder = tf.saved_model.load(str(encoder_dir))
        self.vocab_file = tf.saved_model.Asset(self.encoder.vocab_file.asset_path)
        self.do_lower_case = tf.Variable(self.encoder.do_lower_case.numpy(), trainable=False)

        specs = {k: tf.TensorSpec([None, None], tf.int32, name=k) for k in INPUT_KEYS}
        self.__call__.get_concrete_function(specs, training=False)

    @tf.function
    def __call__(self, inputs, training=False):
        outputs = dict(self.encoder(inputs, training=training))
        outputs["sentence_embedding"] = tf.math.l2_normalize(outputs["sequence_output"][:, 0], axis=-1)
        return outputs


def test_a_sentence_embedding_output_is_the_default(tiny_bert_hub, tmp_path):
    tf.saved_model.save(_WithSentenceEmbedding(tiny_bert_hub["encoder"]), str(tmp_path / "st"))
    raw = [b"hello world", b"the lazy dog sleeps", b""]
    vectors = official_encoders.encode(tmp_path / "st", raw)
    cls = helpers.per_text_reference(tiny_bert_hub["encoder"], tiny_bert_hub["preprocessor"], raw,
                                     MAX_POSITIONS, pooling="cls")
    np.testing.assert_allclose(vectors, cls / np.linalg.norm(cls, axis=1, keepdims=True), atol=2e-5)
    assert SentenceEncoder(tmp_path / "st", pooling="mean").pooling == "mean"


def test_checkpoint_directory_and_catalog_name_give_the_same_vectors(tiny_bert_hub, tiny, monkeypatch):
    texts = ["hello world", "a man is playing guitar", ""]
    from_saved_model = official_encoders.encode(tiny, texts)
    checkpoint_dir = tiny_bert_hub["hub_root"].parent / "work" / "tf2"
    np.testing.assert_allclose(official_encoders.encode(checkpoint_dir, texts), from_saved_model, atol=2e-5)
    monkeypatch.setenv("OFFICIAL_ENCODERS_CACHE", str(checkpoint_dir.parent))
    np.testing.assert_allclose(official_encoders.encode("tf2", texts), from_saved_model, atol=2e-5)
    with pytest.raises(FileNotFoundError, match="Nothing is downloaded"):
        official_encoders.encode("no_such_model_name", texts)
