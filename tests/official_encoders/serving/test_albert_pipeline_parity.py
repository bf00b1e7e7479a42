"""ALBERT (SentencePiece) text-in serving exports against Hugging Face's pipelines.

A SentencePiece model is trained here on the real multilingual corpus; tiny random
`AlbertForQuestionAnswering` / `AlbertForTokenClassification` models are saved with
the ALBERT tokenizer converted from it (albert_dirs), exported by
`export.pipeline.run_export` (`--export_type=question_answering|token_classification`
from `hf:<dir>`), reloaded with `hub.load` and compared on `serving_default` with
`pipeline("question-answering")` (transformers 4.57, through .venv-qa-ref and
bench.hf_qa_reference) and `pipeline("token-classification",
aggregation_strategy="simple")` (transformers 5, in this process), all computed in
this run: identical answers, entities and character offsets, scores within 1e-4.

Texts that Hugging Face's ALBERT tokenizer tokenizes differently from ours are
compared on tokens only: each must show one of the documented departures
(tests.preprocessors.albert_departures). QA contexts are built from the passages
without one, since a long context joins many passages. For token classification one more is
switched off by name, as for BERT: HF matches special-token strings written in the
raw text ("[SEP]") as special tokens (`encode_special_tokens = True`).
"""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub

from bench.hf_qa_reference import ReferencePipeline
from export import pipeline
from preprocessors.sentencepiece import AlbertSentencepieceTokenizer
from tests.official_encoders.serving import qa_data
from tests.official_encoders.serving.albert_dirs import write_hf_albert_dir
from tests.official_encoders.serving.conftest import NER_LABELS, compare_entities
from tests.preprocessors.albert_departures import equal_score_tie, hf_albert_departure
from tests.preprocessors.conftest import sp_model_dir  # noqa: F401  (a fixture)

pytestmark = pytest.mark.slow
QA_SETTINGS = dict(max_seq_length=384, doc_stride=128, max_query_length=64, max_answer_length=15)
BATCH = 16


def export(model_dir, hub_root, export_type, **settings):
    """Publishes `model_dir` with run_export and returns the reloaded SavedModel."""
    options = pipeline.ExportOptions(source=f"hf:{model_dir}", hub_root=str(hub_root), export_type=export_type,
                                     name=f"albert_{export_type}", **settings)
    summary = pipeline.run_export(options, printer=lambda line: None)
    return hub.load(summary.artifacts[0].path)


def tokenized_alike(texts, ours, hf, departures, lower):
    """Whether our tokenizer and HF's give the same ids for every text; counts the named departures."""
    our_ids = ours.tokenize(tf.constant(texts)).to_list()
    alike = True
    for text, mine in zip(texts, our_ids):
        theirs = hf(text, add_special_tokens=False)["input_ids"]
        if mine != theirs:
            departure = hf_albert_departure(text, lower) or (
                equal_score_tie(ours.sp_model_file, mine, theirs) and "equal-score tie")
            assert departure, f"tokenized differently with no documented departure: {text!r}"
            departures[departure] = departures.get(departure, 0) + 1
            alike = False
    return alike


def test_question_answering_export_equals_the_hf_pipeline(sp_model_dir, passages, tmp_path):  # noqa: F811
    import transformers

    model_dir = write_hf_albert_dir(tmp_path / "hf_albert_qa", sp_model_dir, transformers.AlbertForQuestionAnswering,
                                    do_lower_case=True, head_scale=1.0)
    # Long contexts join many passages, and nearly every one would hold a departure somewhere:
    # they are built from the passages without one (most of the corpus).
    plain = [p for p in passages if hf_albert_departure(p, True) is None]
    assert len(plain) > 0.8 * len(passages)
    pairs = qa_data.question_context_pairs(plain, 120, seed=3)
    question_tokens = qa_data.hf_question_lengths(model_dir, pairs)
    pairs = [pair for pair, n in zip(pairs, question_tokens) if n <= QA_SETTINGS["max_query_length"]]
    hf = transformers.AutoTokenizer.from_pretrained(str(model_dir))
    ours = AlbertSentencepieceTokenizer(str(model_dir / "spiece.model"), True)
    departures = {}
    compared = [pair for pair in pairs if tokenized_alike(list(pair), ours, hf, departures, True)]
    windows = qa_data.hf_window_counts(model_dir, compared, QA_SETTINGS["max_seq_length"], QA_SETTINGS["doc_stride"])
    assert len(compared) >= 100 and np.sum(windows > 1) >= len(compared) / 3, (len(compared), departures)
    loaded = export(model_dir, tmp_path / "hub", "question_answering", **QA_SETTINGS)
    with ReferencePipeline(model_dir, threads=1) as reference:
        theirs, _ = reference.answer([q for q, _ in compared], [c for _, c in compared], **QA_SETTINGS)
    mine = []
    for begin in range(0, len(compared), BATCH):
        chunk = compared[begin:begin + BATCH]
        out = loaded.signatures["serving_default"](question=tf.constant([q for q, _ in chunk]),
                                                   context=tf.constant([c for _, c in chunk]))
        mine += [{"answer": out["answer"][i].numpy().decode("utf-8"), "start": int(out["start"][i]),
                  "end": int(out["end"][i]), "score": float(out["score"][i])} for i in range(len(chunk))]
    mismatches, score_diff = qa_data.compare_answers(compared, mine, theirs)
    print(f"ALBERT QA: {len(compared)} pairs compared ({np.sum(windows > 1)} over one window, max {windows.max()}), "
          f"{len(mismatches)} mismatches, max score diff {score_diff:.2g}; departures skipped {departures}")
    assert not mismatches, mismatches[:3]
    assert score_diff <= 1e-4


def test_token_classification_export_equals_the_hf_pipeline(sp_model_dir, corpus_sample, tmp_path):  # noqa: F811
    import transformers

    model_dir = write_hf_albert_dir(tmp_path / "hf_albert_ner", sp_model_dir, transformers.AlbertForTokenClassification,
                                    do_lower_case=False, head_scale=30.0, labels=NER_LABELS)
    pipe = transformers.pipeline("token-classification", model=str(model_dir), tokenizer=str(model_dir),
                                 device="cpu", aggregation_strategy="simple")
    pipe.tokenizer._tokenizer.encode_special_tokens = True  # the departure named in the module doc
    ours = AlbertSentencepieceTokenizer(str(model_dir / "spiece.model"), False)
    departures = {}
    texts = [t for t in corpus_sample[:120] if tokenized_alike([t], ours, pipe.tokenizer, departures, False)]
    assert len(texts) >= 80, departures
    loaded = export(model_dir, tmp_path / "hub", "token_classification")
    serve = loaded.signatures["serving_default"]
    entities, mismatched, max_score_diff, multi_piece = compare_entities(
        lambda chunk: {k: v.numpy() for k, v in serve(text=tf.constant(chunk)).items()}, pipe, texts,
        lambda entity: len(pipe.tokenizer.tokenize(entity["word"])) > 1, batch=BATCH)
    print(f"ALBERT token classification: {len(texts)} texts, {entities} entities compared, {len(mismatched)} "
          f"texts mismatched, max score diff {max_score_diff:.2e}; departures skipped {departures}")
    assert mismatched == [], mismatched[:2]
    assert entities > 100 and multi_piece > 20
    assert max_score_diff <= 1e-4
