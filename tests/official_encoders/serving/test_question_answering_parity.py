"""QuestionAnsweringServer against Hugging Face's question-answering pipeline (transformers 4.57).

Both sides load the same saved random BertForQuestionAnswering (ours through
`official_encoders.from_pretrained(dir, task="question_answering")`); the pipeline runs in
the reference environment (.venv-qa-ref) through bench.hf_qa_reference, computed in
this test run. Real multilingual pairs, a third and more of them longer than one
window; the answer text and character offsets must be identical and the scores
within 1e-4.
"""

import numpy as np
import pytest
import tensorflow as tf

import official_encoders
from bench.hf_qa_reference import ReferencePipeline
from official_encoders.serving.question_answering import QuestionAnsweringServer
from preprocessors.wordpiece import BertWordpieceTokenizer
from tests.official_encoders.serving import qa_data
from tests.preprocessors.corpus_data import read_passages

pytestmark = pytest.mark.slow

DEFAULTS = dict(max_seq_length=384, doc_stride=128, max_query_length=64, max_answer_length=15)
SMALL = dict(max_seq_length=64, doc_stride=16, max_query_length=20, max_answer_length=6)


@pytest.fixture(scope="module")
def passages():
    return read_passages()


@pytest.fixture(scope="module")
def vocab_file(passages, tmp_path_factory):
    return qa_data.train_vocab(passages, tmp_path_factory.mktemp("qa_vocab"))


@pytest.fixture(scope="module")
def hf_model_dir(vocab_file, tmp_path_factory):
    return qa_data.write_hf_qa_model(tmp_path_factory.mktemp("hf_qa"), vocab_file)


@pytest.fixture(scope="module")
def hf_v2_model_dir(vocab_file, tmp_path_factory):
    """[CLS] pushed up enough that "no answer" wins on part of the pairs."""
    return qa_data.write_hf_qa_model(tmp_path_factory.mktemp("hf_qa_v2"), vocab_file, seed=1, null_bias=0.2)


def _ours(model_dir, pairs, settings, batch_size=16):
    tokenizer = BertWordpieceTokenizer(str(model_dir / "vocab.txt"), do_lower_case=False)
    model = official_encoders.from_pretrained(str(model_dir), task="question_answering")
    server = QuestionAnsweringServer(model, tokenizer, **settings)
    answers = []
    for begin in range(0, len(pairs), batch_size):
        chunk = pairs[begin:begin + batch_size]
        out = server(tf.constant([q for q, _ in chunk]), tf.constant([c for _, c in chunk]))
        for i in range(len(chunk)):
            answers.append({"answer": out["answer"][i].numpy().decode("utf-8"), "start": int(out["start"][i]),
                            "end": int(out["end"][i]), "score": float(out["score"][i])})
    return answers


def _check_parity(model_dir, passages, settings, version_2, count, seed):
    pairs = qa_data.question_context_pairs(passages, count, seed=seed)
    # The pipeline keeps questions whole; we keep max_query_length tokens. Compared where those agree.
    question_tokens = qa_data.hf_question_lengths(model_dir, pairs)
    pairs = [pair for pair, n in zip(pairs, question_tokens) if n <= settings["max_query_length"]]
    assert len(pairs) >= 100
    windows = qa_data.hf_window_counts(model_dir, pairs, settings["max_seq_length"], settings["doc_stride"])
    assert np.mean(windows > 1) >= 1 / 3, f"only {np.sum(windows > 1)} of {len(pairs)} pairs span several windows"
    with ReferencePipeline(model_dir, threads=1) as reference:
        theirs, _ = reference.answer([q for q, _ in pairs], [c for _, c in pairs],
                                     version_2_with_negative=version_2, **settings)
    ours = _ours(model_dir, pairs, dict(settings, version_2_with_negative=version_2))
    mismatches, score_diff = qa_data.compare_answers(pairs, ours, theirs)
    no_answers = sum(not a["answer"] for a in theirs)
    print(f"{len(pairs)} pairs, {np.sum(windows > 1)} over one window (max {windows.max()} windows), "
          f"{len(mismatches)} mismatches, max score diff {score_diff:.2g}, {no_answers} no-answers")
    assert not mismatches, mismatches[:3]
    assert score_diff <= 1e-4
    return no_answers, len(pairs)


def test_answers_equal_the_hf_pipeline_at_its_defaults(hf_model_dir, passages):
    no_answers, _ = _check_parity(hf_model_dir, passages, DEFAULTS, False, count=330, seed=0)
    assert no_answers == 0


def test_no_answer_equals_the_hf_pipeline_with_version_2(hf_v2_model_dir, passages):
    no_answers, count = _check_parity(hf_v2_model_dir, passages, SMALL, True, count=150, seed=1)
    assert 0 < no_answers < count  # both kinds of answer occur
