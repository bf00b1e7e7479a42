"""The serving modules on tiny task models: what they compute, long and empty texts, bad input."""

import numpy as np
import pytest
import tensorflow as tf

from official_encoders.models import build_encoder
from official_encoders.serving.multiple_choice import MultipleChoiceServing
from official_encoders.serving.sequence_classification import SequenceClassificationServing
from official_encoders.serving.text_inputs import TextPacker
from official_encoders.serving.token_classification import TokenClassificationServing
from official_encoders.tasks import build_task_model
from preprocessors.packing import bert_pack_inputs
from preprocessors.tokenizer_factory import make_tokenizer
from tests.common.tiny_configs import tiny_config
from tests.preprocessors.conftest import tiny_sp_model, tiny_vocab  # noqa: F401  (shared fixtures)

MAX_POSITIONS = 24  # tiny_config's max_position_embeddings: long texts are really long here
TEXTS = ["hello world, the café", "", "Straße naïve σας 中文，it's x=y!",
         " ".join(["unaffable hello world"] * 12)]  # 48 pieces: truncated or windowed
LABELS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "MISC")


def task_model(task, seed=0, **config_changes):
    import keras

    keras.utils.set_random_seed(seed)
    return build_task_model(task, build_encoder(tiny_config("bert", **config_changes)),
                            num_labels=None if task == "multiple_choice" else len(LABELS))


@pytest.fixture
def packer(tiny_vocab):  # noqa: F811
    return TextPacker(make_tokenizer(tiny_vocab, do_lower_case=False), max_seq_length=MAX_POSITIONS)


def direct_logits(model, packer, segments, seq_length=MAX_POSITIONS):
    """The model on our preprocessors' packing at a fixed length (a reference path apart from the packer)."""
    tokens = [packer.tokenizer.tokenize(tf.constant(s)) for s in segments]
    return model(bert_pack_inputs(tokens, seq_length, packer.special_ids), training=False)["logits"].numpy()


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("pairs", [False, True], ids=["singles", "pairs"])
def test_sequence_classification_is_the_softmax_of_the_model(packer, pairs):
    model = task_model("sequence_classification")
    serving = SequenceClassificationServing(model, packer, LABELS, text_pairs=pairs)
    segments = [TEXTS, TEXTS[::-1]] if pairs else [TEXTS]
    out = serving(*[tf.constant(s) for s in segments])
    want = softmax(direct_logits(model, packer, segments))
    np.testing.assert_allclose(out["probabilities"].numpy(), want, atol=1e-6)
    assert [label.decode() for label in out["label"].numpy()] == [LABELS[i] for i in want.argmax(-1)]
    np.testing.assert_allclose(out["score"].numpy(), want.max(-1), atol=1e-6)


def test_a_regressor_outputs_only_its_score(packer):
    import keras

    keras.utils.set_random_seed(0)
    model = build_task_model("sequence_classification", build_encoder(tiny_config("bert")), num_labels=1)
    out = SequenceClassificationServing(model, packer, ["similarity"])(tf.constant(TEXTS))
    assert sorted(out) == ["score"]
    np.testing.assert_allclose(out["score"].numpy(), direct_logits(model, packer, [TEXTS])[:, 0], atol=1e-6)


def test_character_offsets_slice_exactly_each_pieces_input(packer):
    ids, starts, ends, _ = packer.tokenize_with_char_offsets(tf.constant(TEXTS))
    _, byte_starts, byte_ends = packer.tokenizer.tokenize_with_offsets(tf.constant(TEXTS))
    pieces = 0
    for text, s, e, bs, be in zip(TEXTS, starts.to_list(), ends.to_list(), byte_starts.to_list(),
                                  byte_ends.to_list()):
        raw = text.encode("utf-8")
        for cs, ce, b0, b1 in zip(s, e, bs, be):
            assert text[cs:ce] == raw[b0:b1].decode("utf-8")
            pieces += 1
    assert pieces == ids.flat_values.shape[0] > 60


def test_long_texts_are_tagged_window_by_window(packer):
    """48 pieces with 24 positions: windows of 22, 22 and 4 pieces, each run on its own."""
    model = task_model("token_classification")
    serving = TokenClassificationServing(model, packer, LABELS)
    ids = packer.tokenize(tf.constant(TEXTS[-1:]))
    got = serving.piece_scores(ids).numpy()
    pieces = ids.to_list()[0]
    size = MAX_POSITIONS - 2
    want = []
    for start in range(0, len(pieces), size):
        window = tf.ragged.constant([pieces[start:start + size]], dtype=tf.int32)
        logits = model(bert_pack_inputs([window], MAX_POSITIONS, packer.special_ids))["logits"].numpy()
        want.append(softmax(logits[0, 1:1 + len(pieces[start:start + size])]))
    assert len(want) == 3
    np.testing.assert_allclose(got, np.concatenate(want), atol=1e-6)


def test_entities_are_substrings_and_empty_texts_have_none(packer):
    model = task_model("token_classification", seed=3)
    out = TokenClassificationServing(model, packer, LABELS)(tf.constant(TEXTS))
    counts = out["num_entities"].numpy()
    assert counts[1] == 0 and counts.sum() > 0
    assert out["entity_group"].shape[1] == counts.max()
    for i, text in enumerate(TEXTS):
        for j in range(counts[i]):
            start, end = int(out["start"][i, j]), int(out["end"][i, j])
            assert 0 <= start < end <= len(text)
            assert out["word"][i, j].numpy().decode() == text[start:end]
            assert out["entity_group"][i, j].numpy().decode() in {"PER", "LOC", "MISC"}
        assert not any(out["entity_group"][i, counts[i]:].numpy())  # padding is ""


def test_multiple_choice_scores_each_prompt_choice_pair(packer):
    model = task_model("multiple_choice")
    serving = MultipleChoiceServing(model, packer)
    prompts = TEXTS[:3]
    choices = [["hello", "world", ""], ["the café", TEXTS[-1], "x"], ["a", "b", "straße"]]
    out = serving(tf.constant(prompts), tf.constant(choices))
    flat = [choice for row in choices for choice in row]
    tokens = [packer.tokenizer.tokenize(tf.constant(s)) for s in ([p for p in prompts for _ in range(3)], flat)]
    packed = bert_pack_inputs(tokens, MAX_POSITIONS, packer.special_ids)
    want = softmax(model({k: tf.reshape(v, [3, 3, -1]) for k, v in packed.items()})["logits"].numpy())
    np.testing.assert_allclose(out["probabilities"].numpy(), want, atol=1e-6)
    np.testing.assert_array_equal(out["choice"].numpy(), want.argmax(-1))


def test_zero_texts_give_empty_outputs(packer):
    empty = tf.constant([], tf.string)
    seq = SequenceClassificationServing(task_model("sequence_classification"), packer, LABELS)(empty)
    assert seq["probabilities"].shape == (0, len(LABELS))
    tags = TokenClassificationServing(task_model("token_classification"), packer, LABELS)(empty)
    assert tags["num_entities"].shape == (0,) and tags["start"].shape[0] == 0


def test_bad_input_is_named(packer):
    pairs = SequenceClassificationServing(task_model("sequence_classification"), packer, LABELS, text_pairs=True)
    with pytest.raises(ValueError, match="`text` and `text_pair` must have the same batch size"):
        pairs(tf.constant(["a", "b"]), tf.constant(["a"]))
    signature = pairs.serving_function()  # unknown shapes: checked in the graph
    with pytest.raises(tf.errors.InvalidArgumentError, match="`text` and `text_pair` must have the same batch"):
        signature(tf.constant(["a", "b"]), tf.constant(["a"]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"`text` must be \[batch\] strings"):
        signature(tf.constant("a"), tf.constant("b"))
    choice = MultipleChoiceServing(task_model("multiple_choice"), packer).serving_function()
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"`choices` must be \[batch, num_choices\] strings"):
        choice(tf.constant(["a question"]), tf.constant(["one", "two"]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="`prompt` and `choices` must have the same batch"):
        choice(tf.constant(["q1", "q2"]), tf.constant([["one", "two"]]))


def test_text_pairs_need_segment_types(tiny_vocab):  # noqa: F811
    packer = TextPacker(make_tokenizer(tiny_vocab), max_seq_length=MAX_POSITIONS, type_vocab_size=1)
    model = task_model("sequence_classification", type_vocab_size=1)
    with pytest.raises(ValueError, match=r"--text_pairs\) needs an encoder with segment types.*type_vocab_size is 1"):
        SequenceClassificationServing(model, packer, LABELS, text_pairs=True)


def test_token_classification_needs_a_tokenizer_with_offsets(tiny_sp_model, tiny_vocab):  # noqa: F811
    from tests.official_encoders.serving.test_question_answering import IdsOnlyTokenizer

    packer = TextPacker(make_tokenizer(sp_model_file=tiny_sp_model), max_seq_length=MAX_POSITIONS)
    TokenClassificationServing(task_model("token_classification"), packer, LABELS)  # SentencePiece has offsets
    packer = TextPacker(IdsOnlyTokenizer(make_tokenizer(tiny_vocab)), max_seq_length=MAX_POSITIONS)
    with pytest.raises(ValueError, match="IdsOnlyTokenizer has none"):
        TokenClassificationServing(task_model("token_classification"), packer, LABELS)
