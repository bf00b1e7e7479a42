"""QuestionAnsweringServer on a tiny span model built here: offsets, window batching, settings checks."""

import numpy as np
import pytest
import tensorflow as tf

from official_encoders import SpanLabeler, build_encoder
from official_encoders.serving.question_answering import QuestionAnsweringServer
from preprocessors.wordpiece import BertWordpieceTokenizer
from tests.common.ids_only_tokenizer import IdsOnlyTokenizer
from tests.common.tiny_configs import tiny_config
from tests.export.tiny_models import write_vocab
from tests.preprocessors.conftest import tiny_sp_model  # noqa: F401  (a fixture)


@pytest.fixture(scope="module")
def server_parts(tmp_path_factory):
    vocab = write_vocab(tmp_path_factory.mktemp("qa_vocab"))
    model = SpanLabeler(build_encoder(tiny_config("bert", max_position_embeddings=64)))
    return model, BertWordpieceTokenizer(str(vocab), do_lower_case=True)


def test_answers_are_substrings_at_their_character_offsets_whatever_the_window_batch(server_parts):
    model, tokenizer = server_parts
    contexts = ["The Quick brown fox jumps over the lazy dog. " * 30, "Ünïcode café: a man is playing guitar",
                "", "hello\x00world , hello again !"]
    questions = tf.constant(["who jumps?", "who plays?", "anything?", "hello?"])
    outputs = [QuestionAnsweringServer(model, tokenizer, max_seq_length=32, doc_stride=8, max_query_length=8,
                                       window_batch_size=size)(questions, tf.constant(contexts))
               for size in (1, 5, 64)]
    for out in outputs:
        for context, answer, start, end in zip(contexts, out["answer"].numpy(), out["start"], out["end"]):
            assert context[int(start):int(end)] == answer.decode("utf-8")
        np.testing.assert_array_equal(out["answer"].numpy(), outputs[0]["answer"].numpy())
        np.testing.assert_allclose(out["score"].numpy(), outputs[0]["score"].numpy(), rtol=1e-5)
    assert outputs[0]["answer"].numpy()[2] == b"" and float(outputs[0]["score"][2]) == 0.0
    assert all(outputs[0]["answer"].numpy()[[0, 1, 3]])


def test_bad_settings_and_tokenizers_are_refused(server_parts, tiny_sp_model):
    model, tokenizer = server_parts
    with pytest.raises(ValueError, match="max_answer_length must be a positive integer"):
        QuestionAnsweringServer(model, tokenizer, max_answer_length=0)
    with pytest.raises(ValueError, match="doc_stride 317 leaves the windows no room"):
        QuestionAnsweringServer(model, tokenizer, doc_stride=317)
    from preprocessors.sentencepiece import AlbertSentencepieceTokenizer

    QuestionAnsweringServer(model, AlbertSentencepieceTokenizer(tiny_sp_model, True))  # SentencePiece has offsets
    with pytest.raises(ValueError, match="IdsOnlyTokenizer has no tokenize_words_with_offsets, so it gives no word offsets"):
        QuestionAnsweringServer(model, IdsOnlyTokenizer(tokenizer))
