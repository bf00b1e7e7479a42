"""question_context_windows against Hugging Face's overflowing-token windows, and its settings checks."""

import numpy as np
import pytest
import tensorflow as tf

from preprocessors.qa_windows import check_window_settings, question_context_windows
from preprocessors.wordpiece import BertWordpieceTokenizer


@pytest.fixture(scope="module")
def hf_tokenizer(multilingual_vocab):
    import pathlib

    import transformers

    return transformers.BertTokenizerFast.from_pretrained(str(pathlib.Path(multilingual_vocab).parent),
                                                          do_lower_case=False)


@pytest.mark.parametrize("max_seq_length,doc_stride", [(32, 8), (48, 0), (24, 12)])
def test_windows_equal_hf_overflowing_tokens(multilingual_vocab, hf_tokenizer, passages, max_seq_length,
                                             doc_stride):
    tokenizer = BertWordpieceTokenizer(multilingual_vocab, do_lower_case=False)
    rng = np.random.default_rng(max_seq_length)
    contexts = [" ".join(passages[i:i + int(rng.integers(1, 6))]) for i in rng.integers(0, 5000, 40)]
    questions = [passages[i][:10] + "?" for i in rng.integers(0, 5000, 40)]
    lengths = [len(hf_tokenizer(q, add_special_tokens=False)["input_ids"]) for q in questions]
    keep = [i for i, n in enumerate(lengths) if n <= 8]  # the pipeline keeps the question whole
    questions, contexts = [questions[i] for i in keep], [contexts[i] for i in keep]
    windows = question_context_windows(
        tokenizer.tokenize(tf.constant(questions)),
        tokenizer.tokenize_words_with_offsets(tf.constant(contexts))[0], tokenizer.special_ids,
        max_seq_length=max_seq_length, doc_stride=doc_stride, max_query_length=8)
    want_ids, want_types, want_example = [], [], []
    for index, (question, context) in enumerate(zip(questions, contexts)):
        encoded = hf_tokenizer(question, context, truncation="only_second", max_length=max_seq_length,
                               stride=doc_stride, return_overflowing_tokens=True, return_token_type_ids=True)
        want_ids += encoded["input_ids"]
        want_types += encoded["token_type_ids"]
        want_example += [index] * len(encoded["input_ids"])
    mask = windows["input_mask"].numpy().astype(bool)
    got_ids = [list(row[m]) for row, m in zip(windows["input_word_ids"].numpy(), mask)]
    got_types = [list(row[m]) for row, m in zip(windows["input_type_ids"].numpy(), mask)]
    assert got_ids == want_ids
    assert got_types == want_types
    assert list(windows["window_example"].numpy()) == want_example
    assert max(map(len, got_ids)) <= max_seq_length
    assert len(questions) >= 20 and sum(np.bincount(want_example) > 1) >= 5  # several need more than one window
    # Each context position says which context piece it holds (and nothing else does).
    pieces = tokenizer.tokenize_with_offsets(tf.constant(contexts))[0].flat_values.numpy()
    position = windows["context_piece"].numpy()
    np.testing.assert_array_equal(windows["input_word_ids"].numpy()[position >= 0], pieces[position[position >= 0]])
    assert np.all((position >= 0) == (windows["input_type_ids"].numpy() == 1) & mask
                  & (np.roll(mask, -1, axis=1) & (np.arange(mask.shape[1]) < mask.shape[1] - 1)))


def test_word_bounds_group_the_pieces_of_each_word(tiny_vocab):
    tokenizer = BertWordpieceTokenizer(tiny_vocab, do_lower_case=True)
    words = tokenizer.tokenize_words_with_offsets(tf.constant(["unaffable hello, world"]))[0]
    windows = question_context_windows(tokenizer.tokenize(tf.constant(["a"])), words, tokenizer.special_ids,
                                       max_seq_length=16, doc_stride=2, max_query_length=4)
    # "unaffable" is un ##aff ##able: pieces 0-2 form one word; "hello", ",", "world" one each.
    np.testing.assert_array_equal(windows["word_first_piece"].numpy(), [0, 0, 0, 3, 4, 5])
    np.testing.assert_array_equal(windows["word_last_piece"].numpy(), [2, 2, 2, 3, 4, 5])


def test_settings_without_room_for_the_context_are_refused():
    with pytest.raises(ValueError, match="doc_stride 128 leaves the windows no room.*below 125"):
        check_window_settings(192, 128, 64)
    with pytest.raises(ValueError, match="max_query_length must be a positive integer"):
        check_window_settings(384, 128, 0)
    check_window_settings(384, 128, 64)
