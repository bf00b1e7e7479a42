"""The serving modules against Hugging Face's pipelines on the same weights and tokenizer.

Tiny random `transformers` task models, saved with a BertTokenizerFast over a
WordPiece vocab trained here on the real multilingual corpus (so many words split
into several pieces), are loaded through our importer and compared with
`pipeline("token-classification", aggregation_strategy="simple")` and
`pipeline("text-classification", top_k=None)` built on the same directory
(our side: `official_encoders.from_pretrained(directory, task="auto")`).

One tokenizer departure is switched off on the HF side, by name: BertTokenizerFast
matches special-token strings written in the raw text ("[UNK]", "[SEP]") as the
special tokens, while our tokenizer, like the original BERT one, splits them as text
(`encode_special_tokens = True` makes HF do the same).
"""

import numpy as np
import official_encoders
import pytest
import tensorflow as tf

from official_encoders.serving.multiple_choice import MultipleChoiceServing
from official_encoders.serving.sequence_classification import SequenceClassificationServing
from official_encoders.serving.text_inputs import TextPacker
from official_encoders.serving.token_classification import TokenClassificationServing
from preprocessors.tokenizer_factory import make_tokenizer
from tests.official_encoders.serving.conftest import NER_LABELS, TOPIC_LABELS, compare_entities, hf_task_directory

pytestmark = pytest.mark.slow
BATCH = 16


def hf_pipeline(task, directory, **kwargs):
    import transformers

    pipe = transformers.pipeline(task, model=str(directory), tokenizer=str(directory), device="cpu", **kwargs)
    pipe.tokenizer._tokenizer.encode_special_tokens = True  # the departure named in the module doc
    return pipe


def packer_for(directory):
    return TextPacker(make_tokenizer(str(directory / "vocab.txt"), do_lower_case=False), max_seq_length=512)


def labels_of(model):
    return [model.id2label[i] for i in range(len(model.id2label))]


@pytest.fixture(scope="module")
def ner_directory(tmp_path_factory, multilingual_vocab):
    import transformers

    return hf_task_directory(tmp_path_factory.mktemp("hf_ner"), multilingual_vocab,
                             transformers.BertForTokenClassification, NER_LABELS, classifier_scale=30.0)


def test_token_classification_matches_hf_simple_aggregation(ner_directory, corpus_sample):
    model = official_encoders.from_pretrained(str(ner_directory), task="auto")
    assert model.task == "token_classification"
    serving = TokenClassificationServing(model, packer_for(ner_directory), labels_of(model))
    pipe = hf_pipeline("token-classification", ner_directory, aggregation_strategy="simple")
    compared, mismatched, max_score_diff, multi_piece = compare_entities(
        lambda texts: {k: v.numpy() for k, v in serving(tf.constant(texts)).items()}, pipe, corpus_sample,
        lambda entity: len(entity["word"].split()) > 1 or "##" in entity["word"], batch=BATCH)
    print(f"token classification: {len(corpus_sample)} texts, {compared} entities compared, "
          f"{len(mismatched)} texts mismatched, max score diff {max_score_diff:.2e}, "
          f"{multi_piece} entities of several pieces")
    assert mismatched == [], mismatched[:2]
    assert compared > 200 and multi_piece > 20  # real grouping work, not a trivial labelling
    assert max_score_diff <= 1e-4


@pytest.fixture(scope="module")
def topic_directory(tmp_path_factory, multilingual_vocab, corpus_sample):
    import transformers

    return hf_task_directory(tmp_path_factory.mktemp("hf_topic"), multilingual_vocab,
                             transformers.BertForSequenceClassification, TOPIC_LABELS, classifier_scale=30.0,
                             center_on=corpus_sample[:64])


@pytest.mark.parametrize("pairs", [False, True], ids=["singles", "pairs"])
def test_sequence_classification_matches_hf_text_classification(topic_directory, corpus_sample, pairs):
    model = official_encoders.from_pretrained(str(topic_directory), task="auto")
    assert model.task == "sequence_classification"
    serving = SequenceClassificationServing(model, packer_for(topic_directory), labels_of(model), text_pairs=pairs)
    pipe = hf_pipeline("text-classification", topic_directory, top_k=None)
    firsts = corpus_sample
    seconds = corpus_sample[1:] + corpus_sample[:1]
    max_diff, labels_differ, seen = 0.0, 0, set()
    for start in range(0, len(firsts), BATCH):
        a, b = firsts[start:start + BATCH], seconds[start:start + BATCH]
        out = serving(tf.constant(a), tf.constant(b)) if pairs else serving(tf.constant(a))
        probabilities = out["probabilities"].numpy()
        for i in range(len(a)):
            want = pipe({"text": a[i], "text_pair": b[i]} if pairs else a[i])
            want = want[0] if isinstance(want[0], list) else want  # a single text comes back nested
            want_probabilities = np.array([next(r["score"] for r in want if r["label"] == label)
                                           for label in TOPIC_LABELS])
            max_diff = max(max_diff, float(np.max(np.abs(probabilities[i] - want_probabilities))))
            best = max(want, key=lambda r: r["score"])
            labels_differ += out["label"][i].numpy().decode() != best["label"]
            seen.add(best["label"])
            assert abs(float(out["score"][i]) - best["score"]) <= 1e-4
    print(f"sequence classification ({'pairs' if pairs else 'singles'}): {len(firsts)} texts, "
          f"max probability diff {max_diff:.2e}, {labels_differ} labels differ, labels seen {sorted(seen)}")
    assert max_diff <= 1e-4 and labels_differ == 0
    assert len(seen) >= 2  # the texts really move the prediction


def test_multiple_choice_matches_hf_on_its_own_tokenizer(tmp_path, multilingual_vocab, corpus_sample):
    """transformers has no multiple-choice pipeline: the reference is the softmax of
    BertForMultipleChoice's logits on BertTokenizerFast's (prompt, choice) pairs."""
    import torch
    import transformers

    directory = hf_task_directory(tmp_path / "hf_choice", multilingual_vocab, transformers.BertForMultipleChoice,
                                  ("LABEL_0",), classifier_scale=30.0)
    model = official_encoders.from_pretrained(str(directory), task="auto")
    assert model.task == "multiple_choice"
    serving = MultipleChoiceServing(model, packer_for(directory))
    hf_model = transformers.BertForMultipleChoice.from_pretrained(directory).eval()
    tokenizer = transformers.BertTokenizerFast.from_pretrained(directory)
    tokenizer._tokenizer.encode_special_tokens = True  # the departure named in the module doc
    num_choices, max_diff, compared, agree = 4, 0.0, 0, 0
    prompts = corpus_sample[:64]
    for start in range(0, len(prompts), 8):
        batch = prompts[start:start + 8]
        choices = [[corpus_sample[(start + i + 7 * k + 1) % len(corpus_sample)] for k in range(num_choices)]
                   for i in range(len(batch))]
        ours = serving(tf.constant(batch), tf.constant(choices))["probabilities"].numpy()
        flat_prompts = [p for p in batch for _ in range(num_choices)]
        encoded = tokenizer(flat_prompts, [c for row in choices for c in row], padding=True, truncation=True,
                            return_tensors="pt")
        with torch.no_grad():
            logits = hf_model(**{k: v.view(len(batch), num_choices, -1) for k, v in encoded.items()}).logits
        want = torch.softmax(logits, -1).numpy()
        max_diff = max(max_diff, float(np.max(np.abs(ours - want))))
        compared += len(batch)
        agree += int(np.sum(ours.argmax(-1) == want.argmax(-1)))
    print(f"multiple choice: {compared} prompts x {num_choices} choices, max probability diff {max_diff:.2e}, "
          f"{compared - agree} choices differ")
    assert max_diff <= 1e-4 and agree == compared
