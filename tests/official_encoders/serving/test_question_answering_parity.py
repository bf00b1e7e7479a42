"""QuestionAnsweringServer against Hugging Face's question-answering pipeline (transformers 4.57).

Both sides load the same saved random BertForQuestionAnswering; the pipeline runs in
the reference environment (.venv-qa-ref) through bench.hf_qa_reference, computed in
this test run. Real multilingual pairs, a third and more of them longer than one
window; the answer text and character offsets must be identical and the scores
within 1e-4.
"""

import numpy as np
import pytest
import tensorflow as tf

from bench.hf_qa_reference import ReferencePipeline
from official_encoders.serving.question_answering import QuestionAnsweringServer
from preprocessors.wordpiece import BertWordpieceTokenizer
from tests.official_encoders.serving import qa_data
from tests.preprocessors.corpus_data import read_passages

pytestmark = pytest.mark.slow

DEFAULTS = dict(max_seq_length=384, doc_stride=128, max_query_length=64, max_answer_length=15)
SMALL = dict(max_seq_length=64, doc_stride=16, max_query_length=16, max_answer_length=6)


@pytest.fixture(scope="module")
def passages():
    return read_passages()


@pytest.fixture(scope="module")
def hf_model_dir(passages, tmp_path_factory):
    vocab = qa_data.train_vocab(passages, tmp_path_factory.mktemp("qa_vocab"))
    return qa_data.write_hf_qa_model(tmp_path_factory.mktemp("hf_qa"), vocab, qa_scale=1.0)


@pytest.fixture(scope="module")
def reference(hf_model_dir):
    with ReferencePipeline(hf_model_dir) as pipeline:
        yield pipeline


@pytest.fixture(scope="module")
def span_model(hf_model_dir):
    return qa_data.span_model_from_hf(hf_model_dir)


def _ours(span_model, hf_model_dir, pairs, settings, batch_size=16):
    tokenizer = BertWordpieceTokenizer(str(hf_model_dir / "vocab.txt"), do_lower_case=False)
    server = QuestionAnsweringServer(span_model, tokenizer, **settings)
    answers = []
    for begin in range(0, len(pairs), batch_size):
        chunk = pairs[begin:begin + batch_size]
        out = server(tf.constant([q for q, _ in chunk]), tf.constant([c for _, c in chunk]))
        for i in range(len(chunk)):
            answers.append({"answer": out["answer"][i].numpy().decode("utf-8"), "start": int(out["start"][i]),
                            "end": int(out["end"][i]), "score": float(out["score"][i])})
    return answers


def _compare(ours, theirs, pairs):
    mismatches = [(pair, a, b) for pair, a, b in zip(pairs, ours, theirs)
                  if (a["answer"], a["start"], a["end"]) != (b["answer"], b["start"], b["end"])]
    score_diff = max(abs(a["score"] - b["score"]) for a, b in zip(ours, theirs))
    return mismatches, score_diff


@pytest.mark.parametrize("settings,version_2", [(DEFAULTS, False), (SMALL, True)], ids=["defaults", "v2_small"])
def test_answers_equal_the_hf_pipeline(span_model, hf_model_dir, reference, passages, settings, version_2):
    count = 330 if settings is DEFAULTS else 120
    pairs = qa_data.question_context_pairs(passages, count, seed=len(settings) + version_2)
    windows = qa_data.hf_window_counts(hf_model_dir, pairs, settings["max_seq_length"], settings["doc_stride"])
    assert np.mean(windows > 1) >= 1 / 3, f"only {np.sum(windows > 1)} of {len(pairs)} pairs span several windows"
    theirs, _ = reference.answer([q for q, _ in pairs], [c for _, c in pairs],
                                 version_2_with_negative=version_2, **settings)
    ours = _ours(span_model, hf_model_dir, pairs, dict(settings, version_2_with_negative=version_2))
    mismatches, score_diff = _compare(ours, theirs, pairs)
    print(f"{len(pairs)} pairs, {np.sum(windows > 1)} over one window (max {windows.max()} windows), "
          f"{len(mismatches)} mismatches, max score diff {score_diff:.2g}, "
          f"{sum(not a['answer'] for a in theirs)} no-answers")
    assert not mismatches, mismatches[:3]
    assert score_diff <= 1e-4
    for (_, context), answer in zip(pairs, ours):
        assert context[answer["start"]:answer["end"]] == answer["answer"]
    if version_2:
        assert 0 < sum(not a["answer"] for a in theirs) < len(pairs)  # both kinds of answer occur
