"""finetune/multiple_choice.py: SWAG pairs packed as TextPacker and HF pack them, the loss, serving = evaluation."""

import csv

import numpy as np
import pytest
import tensorflow as tf

from official_encoders.finetune.multiple_choice import MultipleChoiceTask
from official_encoders.finetune.readers import BadExampleError, ChoiceExample
from official_encoders.finetune.task_base import RunText
from tests.official_encoders.finetune.task_runs import (export_and_load, mean_loss, run_text, task_params,
                                                        tiny_task_model, train)

QUESTIONS = [
    ChoiceExample("A man is playing guitar on stage.", "The man", ("sleeps.", "jumps over a dog.", "needs flour."), 1),
    ChoiceExample("The cat sleeps on the sofa.", "The cat", ("reset my password.", "sleeps all morning.",
                                                             "is a brown fox."), 1),
    ChoiceExample("How do I reset my password?", "You", ("do it.", "play guitar.", "sleep."), 0),
]


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    return run_text(tmp_path_factory.mktemp("multiple_choice"))


def packed_batches(task, questions, text):
    return [({k: v.numpy() for k, v in inputs.items()}, targets["label"].numpy())
            for inputs, targets in task.dataset(questions, text, None, training=False)]


def test_choices_are_packed_as_textpacker_packs_the_swag_pairs(text):
    task = MultipleChoiceTask(task_params(seq_length=24, batch_size=2))
    batches = packed_batches(task, QUESTIONS, text)
    at = 0
    for inputs, labels in batches:
        questions = QUESTIONS[at:at + len(labels)]
        at += len(labels)
        # Hugging Face run_swag.py: first = the context, repeated; second = f"{stem} {ending}".
        first = [q.context for q in questions for _ in q.endings]
        second = [f"{q.stem} {ending}" for q in questions for ending in q.endings]
        want = text.packer.pack([text.packer.tokenize(tf.constant(first)), text.packer.tokenize(tf.constant(second))])
        for key, value in want.items():
            assert inputs[key].shape[:2] == (len(questions), 3)
            np.testing.assert_array_equal(inputs[key].reshape(len(first), -1), value.numpy(), err_msg=key)
        assert labels.tolist() == [q.label for q in questions]
    assert at == len(QUESTIONS)
    # A --preprocess_url run has no tokenizer: its packer packs the same pairs.
    for (inputs, labels), (again, same) in zip(batches, packed_batches(task, QUESTIONS, RunText(text.packer))):
        assert labels.tolist() == same.tolist()
        for key in inputs:
            np.testing.assert_array_equal(inputs[key], again[key], err_msg=key)


def test_the_pairs_are_the_ones_hugging_face_encodes(text):
    import transformers

    with open(text.vocab_file, encoding="utf-8") as f:
        vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}
    tokenizer = transformers.BertTokenizerFast(vocab=vocab, do_lower_case=True)
    task = MultipleChoiceTask(task_params(seq_length=24, batch_size=len(QUESTIONS)))
    [(inputs, _)] = packed_batches(task, QUESTIONS, text)
    for b, question in enumerate(QUESTIONS):
        encoded = tokenizer([question.context] * 3, [f"{question.stem} {e}" for e in question.endings])
        for k, (ids, types) in enumerate(zip(encoded["input_ids"], encoded["token_type_ids"])):
            n = int(inputs["input_mask"][b, k].sum())
            assert inputs["input_word_ids"][b, k, :n].tolist() == ids
            assert inputs["input_type_ids"][b, k, :n].tolist() == types


def test_the_loss_is_the_softmax_cross_entropy_over_the_choices(text):
    task = MultipleChoiceTask(task_params(batch_size=2))
    model = tiny_task_model(task, None)
    for inputs, targets in task.dataset(QUESTIONS, text, None, training=False):
        logits = model(inputs, training=False)["logits"].numpy().astype(np.float64)
        labels = targets["label"].numpy()
        log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        loss_sum, weight = task.loss(targets, {"logits": tf.constant(logits, tf.float32)})
        assert float(weight) == len(labels)
        np.testing.assert_allclose(float(loss_sum), -log_probs[np.arange(len(labels)), labels].sum(), rtol=1e-5)


def test_the_exported_model_chooses_what_evaluate_chose(text, tmp_path):
    task = MultipleChoiceTask(task_params(seq_length=16, batch_size=2))
    model = tiny_task_model(task, None, seed=4)
    chosen, labels = task.predict(model, QUESTIONS, text)
    assert task.evaluate(model, QUESTIONS, text, None, str(tmp_path)) == {"accuracy": float(np.mean(chosen == labels))}
    serving = export_and_load(model, task.serving_module(model, text, None), tmp_path / "export")
    # settings(): prompt = the context, choices = stem + " " + ending.
    out = serving(prompt=tf.constant([q.context for q in QUESTIONS]),
                  choices=tf.constant([[f"{q.stem} {e}" for e in q.endings] for q in QUESTIONS]))
    assert out["choice"].numpy().tolist() == chosen.tolist()
    logits = np.concatenate([model(x, training=False)["logits"].numpy()
                             for x, _ in task.dataset(QUESTIONS, text, None, training=False)])
    np.testing.assert_allclose(out["probabilities"].numpy(), tf.nn.softmax(logits).numpy(), atol=1e-5)
    assert task.settings()["seq_length"] == 16


def test_an_encoder_without_segment_types_gets_type_ids_0(text):
    task = MultipleChoiceTask(task_params(batch_size=3))
    tiny_task_model(task, None, type_vocab_size=1)
    [(inputs, _)] = packed_batches(task, QUESTIONS, text)
    assert not inputs["input_type_ids"].any() and inputs["input_mask"].sum() > 0
    with_types = MultipleChoiceTask(task_params(batch_size=3))
    [(inputs, _)] = packed_batches(with_types, QUESTIONS, text)
    assert inputs["input_type_ids"].max() == 1


def test_a_row_without_a_label_is_refused_or_skipped(text, tmp_path):
    path = tmp_path / "val.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sent1", "sent2", "ending0", "ending1", "ending2", "label"])
        for q, label in zip(QUESTIONS, [1, "", 0]):
            writer.writerow([q.context, q.stem, *q.endings, label])
    task = MultipleChoiceTask(task_params())
    questions = task.read(str(path)).examples
    with pytest.raises(BadExampleError, match=rf"{path}: line 3: has no label"):
        task.dataset(questions, text, None, training=True)
    skipping = MultipleChoiceTask(task_params(skip_bad_examples=True))
    model = tiny_task_model(skipping, None)
    chosen, labels = skipping.predict(model, questions, text)
    assert labels.tolist() == [1, 0] and len(skipping.skipped) == 1 and "line 3" in skipping.skipped[0]


def test_a_few_training_steps_lower_the_loss(text):
    """The right ending is the only one that names an animal."""
    rng = np.random.default_rng(0)
    animals, others = ["fox", "dog", "cat"], ["guitar", "flour", "password", "sofa", "stage", "recipe"]
    questions = []
    for _ in range(24):
        label = int(rng.integers(3))
        endings = [f"the {rng.choice(animals) if k == label else rng.choice(others)}" for k in range(3)]
        questions.append(ChoiceExample("a man is on stage", "he sees", tuple(endings), label))
    task = MultipleChoiceTask(task_params(batch_size=8))
    model = tiny_task_model(task, None)
    dataset = task.dataset(questions, text, None, training=True)
    before = mean_loss(task, model, dataset)
    train(task, model, dataset, epochs=6, learning_rate=1e-2)  # one score from [CLS] learns slower than tags
    after = mean_loss(task, model, dataset)
    assert after < 0.6 * before, (before, after)
