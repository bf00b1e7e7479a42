"""finetune/tagging.py: first-piece labels, truncation, unknown tags, the loss, seqeval scores, serving."""

import numpy as np
import pytest
import tensorflow as tf

from official_encoders.finetune import metrics
from official_encoders.finetune.readers import BadExampleError, TaggingExample
from official_encoders.finetune.tagging import IGNORE, TaggingTask
from official_encoders.finetune.task_base import RunText
from tests.common.ids_only_tokenizer import IdsOnlyTokenizer
from tests.official_encoders.finetune.task_runs import (export_and_load, mean_loss, run_text, task_params,
                                                        tiny_task_model, train)
from tests.preprocessors.conftest import tiny_sp_model  # noqa: F401  (shared fixture)

# Words the tiny vocabulary splits into several pieces ("foxy" -> fox ##y, "zebra" -> z ##e ##b ...).
SENTENCES = [
    (("The", "quick", "foxy", "dog"), ("O", "B-ANI", "I-ANI", "O")),
    (("Hello", "world", "zebra", "sleeps"), ("B-GRT", "I-GRT", "B-ANI", "O")),
    (("a", "cat", "jumps", "over", "the", "lazily", "dog"), ("O", "B-ANI", "O", "O", "O", "B-ANI", "I-ANI")),
]


def examples(sentences=SENTENCES):
    return [TaggingExample(words, tags) for words, tags in sentences]


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    return run_text(tmp_path_factory.mktemp("tagging"))


def pieces_of(text, word):
    """The word's WordPiece ids, tokenized alone and eagerly (the reference of the alignment)."""
    return text.tokenizer.tokenize(tf.constant([word]))[0].numpy().tolist()


def expected_rows(text, sentence, label_names, keep):
    """(ids, labels) of a sentence packed by hand: [CLS], each word's pieces (its tag at the first),
    [SEP], cut to `keep` pieces; and the number of words cut off."""
    ids, labels = [], []
    for word, tag in zip(*sentence):
        pieces = pieces_of(text, word)
        ids += pieces
        labels += [label_names.index(tag)] + [IGNORE] * (len(pieces) - 1)
    cut = sum(1 for label in labels[keep:] if label != IGNORE)
    special = text.tokenizer.special_ids
    return ([special["start_of_sequence_id"]] + ids[:keep] + [special["end_of_segment_id"]],
            [IGNORE] + labels[:keep] + [IGNORE], cut)


def batches(task, sentences, text, label_names):
    rows = [(x["input_word_ids"].numpy(), x["input_mask"].numpy(), y["labels"].numpy())
            for x, y in task.dataset(examples(sentences), text, label_names, training=False)]
    return [row for ids, mask, labels in rows for row in zip(ids, mask, labels)]


def test_label_names_are_sorted_with_o_first():
    assert TaggingTask(task_params()).label_names(examples()) == ["O", "B-ANI", "B-GRT", "I-ANI", "I-GRT"]


def test_each_words_first_piece_carries_its_tag(text):
    task = TaggingTask(task_params(seq_length=24))
    label_names = task.label_names(examples())
    rows = batches(task, SENTENCES, text, label_names)
    assert len(rows) == len(SENTENCES)
    for sentence, (ids, mask, labels) in zip(SENTENCES, rows):
        want_ids, want_labels, cut = expected_rows(text, sentence, label_names, keep=22)
        assert cut == 0
        assert any(len(pieces_of(text, w)) > 1 for w in sentence[0])  # the test needs multi-piece words
        n = int(mask.sum())
        assert ids[:n].tolist() == want_ids and labels[:n].tolist() == want_labels
        assert (labels[n:] == IGNORE).all() and (ids[n:] == text.tokenizer.special_ids["padding_id"]).all()
        assert int((labels != IGNORE).sum()) == len(sentence[0])
    assert task.truncation == {"sentences": 0, "words": 0, "total_words": sum(len(s[0]) for s in SENTENCES)}


def test_long_sentences_are_truncated_and_counted(text):
    task = TaggingTask(task_params(seq_length=8))
    label_names = task.label_names(examples())
    rows = batches(task, SENTENCES, text, label_names)
    cut_words, cut_sentences = 0, 0
    for sentence, (ids, mask, labels) in zip(SENTENCES, rows):
        want_ids, want_labels, cut = expected_rows(text, sentence, label_names, keep=6)
        assert ids[:int(mask.sum())].tolist() == want_ids and labels[:int(mask.sum())].tolist() == want_labels
        cut_words, cut_sentences = cut_words + cut, cut_sentences + (cut > 0)
    assert cut_words > 0
    assert task.truncation == {"sentences": cut_sentences, "words": cut_words,
                               "total_words": sum(len(s[0]) for s in SENTENCES)}


def write_conll(path, sentences):
    path.write_text("".join("".join(f"{w} X {t}\n" for w, t in zip(*s)) + "\n" for s in sentences))
    return str(path)


def test_an_eval_tag_outside_the_training_tags_is_refused_or_skipped(text, tmp_path):
    strange = (("the", "dog", "sleeps"), ("O", "B-ZOO", "O"))
    dev = write_conll(tmp_path / "dev.conll", [SENTENCES[0], strange, SENTENCES[2]])
    task = TaggingTask(task_params())
    label_names = task.label_names(examples())
    model = tiny_task_model(task, label_names)
    dev_examples = task.read(dev).examples
    with pytest.raises(BadExampleError, match=rf"{dev}: line 6: tags \['B-ZOO'\] do not occur in the training "
                                              r"data.*--skip_bad_examples"):
        task.evaluate(model, dev_examples, text, label_names, str(tmp_path))
    with pytest.raises(BadExampleError, match="line 6: tags"):
        task.dataset(dev_examples, text, label_names, training=False)

    skipping = TaggingTask(task_params(skip_bad_examples=True))
    scores = skipping.evaluate(model, dev_examples, text, label_names, str(tmp_path))
    assert skipping.evaluate(model, dev_examples, text, label_names, str(tmp_path)) == scores  # the next epoch
    assert len(skipping.skipped) == 1 and "line 6" in skipping.skipped[0] and "B-ZOO" in skipping.skipped[0]
    kept = [dev_examples[0], dev_examples[2]]
    assert scores == metrics.tagging_scores([list(e.tags) for e in kept],
                                            skipping.predict_tags(model, kept, text, label_names))


def test_the_loss_is_the_cross_entropy_of_labelled_tokens(text):
    task = TaggingTask(task_params(seq_length=12))
    label_names = task.label_names(examples())
    model = tiny_task_model(task, label_names)
    for inputs, targets in task.dataset(examples(), text, label_names, training=False):
        logits = model(inputs, training=False)["logits"].numpy().astype(np.float64)
        labels = targets["labels"].numpy()
        log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        rows, cols = np.nonzero(labels != IGNORE)
        want = -log_probs[rows, cols, labels[rows, cols]].sum()
        loss_sum, weight = task.loss(targets, {"logits": tf.constant(logits, tf.float32)})
        assert float(weight) == len(rows) > 0
        np.testing.assert_allclose(float(loss_sum), want, rtol=1e-5)


def test_each_word_is_tagged_by_the_argmax_at_its_first_piece(text):
    task = TaggingTask(task_params(seq_length=24))
    label_names = task.label_names(examples())
    model = tiny_task_model(task, label_names, seed=3)
    predicted = task.predict_tags(model, examples(), text, label_names)
    direct = []
    for inputs, targets in task.dataset(examples(), text, label_names, training=False):
        classes = np.argmax(model(inputs, training=False)["logits"].numpy(), -1)
        labels = targets["labels"].numpy()
        direct += [[label_names[c] for c in row[mask]] for row, mask in zip(classes, labels != IGNORE)]
    assert predicted == direct


def test_evaluate_scores_as_seqeval(text):
    from seqeval import metrics as seqeval

    task = TaggingTask(task_params())
    label_names = task.label_names(examples())
    model = tiny_task_model(task, label_names, seed=1)
    predicted = task.predict_tags(model, examples(), text, label_names)
    # Gold: the model's own tags for the first sentence, the true tags elsewhere, so some entities match.
    gold = [TaggingExample(SENTENCES[0][0], tuple(predicted[0]))] + examples()[1:]
    scores = task.evaluate(model, gold, text, label_names, "")
    truth = [list(e.tags) for e in gold]
    assert any(tag != "O" for tag in predicted[0]) and scores["f1"] > 0
    assert scores == pytest.approx({
        "precision": seqeval.precision_score(truth, predicted), "recall": seqeval.recall_score(truth, predicted),
        "f1": seqeval.f1_score(truth, predicted), "accuracy": seqeval.accuracy_score(truth, predicted)})


def test_the_exported_model_finds_the_entities_evaluate_predicts(text, tmp_path):
    """Words of one piece each (so the serving module's piece grouping is the words'), one sentence
    longer than seq_length: the export and evaluation both see every word."""
    words = "the quick brown fox jumps over lazy dog hello world a man is playing guitar on stage".split()
    sentences = [(tuple(words[i:i + n]), ("O",) * n) for i, n in ((0, 4), (3, 9), (0, 17))]
    assert all(len(pieces_of(text, w)) == 1 for w in words)
    task = TaggingTask(task_params(seq_length=8))
    label_names = ["O", "B-ANI", "B-GRT", "I-ANI", "I-GRT"]
    model = tiny_task_model(task, label_names, seed=2)
    predicted = task.predict_tags(model, examples(sentences), text, label_names)
    serving = export_and_load(model, task.serving_module(model, text, label_names), tmp_path / "export")
    out = serving(text=tf.constant([" ".join(s[0]) for s in sentences]))
    found = 0
    for (sentence_words, _), tags, row in zip(sentences, predicted, range(len(sentences))):
        starts = np.cumsum([0] + [len(w) + 1 for w in sentence_words])
        want = [(kind, int(starts[a]), int(starts[b] - 1)) for kind, a, b in metrics.entity_spans(tags)]
        n = int(out["num_entities"][row])
        got = [(g.decode(), int(s), int(e)) for g, s, e in zip(out["entity_group"][row].numpy()[:n],
                                                              out["start"][row].numpy()[:n],
                                                              out["end"][row].numpy()[:n])]
        assert got == want
        found += n
    assert found > 3


def test_refuses_a_run_without_character_offsets(text, tiny_sp_model):  # noqa: F811
    from official_encoders.serving.text_inputs import TextPacker
    from preprocessors.tokenizer_factory import make_tokenizer

    task = TaggingTask(task_params())
    with pytest.raises(ValueError, match="only a preprocessing SavedModel"):
        task.dataset(examples(), RunText(text.packer, None), ["O"], training=True)
    sentencepiece = make_tokenizer(sp_model_file=tiny_sp_model)
    ids_only = IdsOnlyTokenizer(sentencepiece)
    with pytest.raises(ValueError, match="needs character offsets.*IdsOnlyTokenizer"):
        task.dataset(examples(), RunText(TextPacker(ids_only, 16), ids_only), ["O"], training=True)
    # SentencePiece gives offsets, so an ALBERT run is accepted.
    labels = task.label_names(examples())
    albert = task.dataset(examples(), RunText(TextPacker(sentencepiece, 16), sentencepiece), labels, training=True)
    assert next(iter(albert))[0]["input_word_ids"].shape[0] > 0
    with pytest.raises(ValueError, match="seq_length >= 3"):
        TaggingTask(task_params(seq_length=2)).dataset(examples(), text, ["O"], training=True)


def test_a_few_training_steps_lower_the_loss(text):
    rng = np.random.default_rng(0)
    animals, others = ["fox", "dog", "cat"], ["the", "quick", "over", "sofa", "all", "morning", "on"]
    sentences = []
    for _ in range(24):
        words = list(rng.choice(others, 5))
        words.insert(int(rng.integers(6)), str(rng.choice(animals)))
        sentences.append((tuple(words), tuple("B-ANI" if w in animals else "O" for w in words)))
    task = TaggingTask(task_params(batch_size=8))
    label_names = task.label_names(examples(sentences))
    model = tiny_task_model(task, label_names)
    dataset = task.dataset(examples(sentences), text, label_names, training=True)
    before = mean_loss(task, model, dataset)
    train(task, model, dataset, epochs=6)
    after = mean_loss(task, model, dataset)
    assert after < 0.6 * before, (before, after)
