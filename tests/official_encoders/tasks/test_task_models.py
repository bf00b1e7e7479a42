"""Task models at tiny sizes: the call contract, shared variables, config and checkpoint round trips
(labels included), multiple-choice flattening, training, and what bad arguments say."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import official_encoders
from official_encoders import build_encoder
from official_encoders.checkpoints import load_directory, load_source, tf2
from official_encoders.checkpoints.report import ImportReport, ImportResult
from official_encoders.checkpoints.task_import import FRESH_HEAD, attach_task
from official_encoders.tasks import TASK_CLASSES, TASKS, build_task_model, pooler_is_optional
from tests.common.tiny_configs import tiny_config
from tests.official_encoders.encoder_checks import random_inputs

NO_DROPOUT = dict(hidden_dropout=0.0, attention_dropout=0.0)
FAMILIES = {
    "bert": dict(),
    "talking_heads": dict(attention_kind="talking_heads", feedforward_kind="gated_gelu"),
    "albert": dict(),
    "electra": dict(),
}
OUTPUT_SHAPES = {  # batch 3 (2 x 3 choices for multiple choice), length 7, 4 labels where free
    "sequence_classification": {"logits": (3, 4)},
    "token_classification": {"logits": (3, 7, 4)},
    "question_answering": {"start_logits": (3, 7), "end_logits": (3, 7)},
    "multiple_choice": {"logits": (2, 3)},
    "next_sentence_prediction": {"logits": (3, 2)},
}
FREE_LABELS = ("sequence_classification", "token_classification")


def _encoder(kind, **changes):
    family = "bert" if kind == "talking_heads" else kind
    return build_encoder(tiny_config(family, **FAMILIES[kind], **changes))


def _model(task, encoder):
    labels = {i: f"label_{i}" for i in range(4)} if task in FREE_LABELS else None
    return build_task_model(task, encoder, id2label=labels)


def _inputs(task):
    if task == "multiple_choice":
        flat = random_inputs(6, 7, seed=2, valid_lengths=[7, 5, 4, 6, 3, 7])
        return {k: v.reshape(2, 3, 7) for k, v in flat.items()}
    return random_inputs(3, 7, seed=1, valid_lengths=[7, 5, 4])


@pytest.mark.parametrize("kind", FAMILIES)
def test_every_task_keeps_the_call_contract_and_round_trips_its_config(kind):
    encoder = _encoder(kind)
    encoder_variables = {id(v) for v in encoder.weights}
    for task in TASKS:
        model = _model(task, encoder)
        assert isinstance(model, keras.Model) and model.task == task and model.encoder is encoder
        assert encoder_variables <= {id(v) for v in model.weights}, "the encoder's variables are shared"
        inputs = _inputs(task)
        outputs = model(inputs, training=False)
        assert {k: tuple(v.shape) for k, v in outputs.items()} == OUTPUT_SHAPES[task], task
        assert all(v.dtype == tf.float32 for v in outputs.values())
        rebuilt = type(model).from_config(json.loads(json.dumps(model.get_config())))
        assert rebuilt.id2label == model.id2label and rebuilt.head_activation == model.head_activation
        assert [v.path for v in rebuilt.weights] == [v.path for v in model.weights]
        rebuilt.set_weights(model.get_weights())
        again = rebuilt(inputs, training=False)
        for key in outputs:
            np.testing.assert_allclose(again[key], outputs[key], atol=1e-6, err_msg=f"{task} {key}")


@pytest.mark.parametrize("task", ["sequence_classification", "multiple_choice"])
def test_keras_file_round_trip_keeps_labels_and_logits(tmp_path, task):
    model = _model(task, _encoder("electra"))
    inputs = _inputs(task)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert type(loaded) is type(model) and loaded.id2label == model.id2label
    np.testing.assert_array_equal(loaded(inputs)["logits"], model(inputs)["logits"])


def test_dropout_acts_only_in_training():
    encoder = _encoder("bert", hidden_dropout=0.3)
    model = build_task_model("sequence_classification", encoder, num_labels=2)
    inputs = _inputs("sequence_classification")
    np.testing.assert_array_equal(model(inputs)["logits"], model(inputs, training=False)["logits"])
    assert not np.allclose(model(inputs, training=True)["logits"], model(inputs)["logits"])


def test_electra_heads_read_the_first_token_through_a_gelu_dense():
    encoder = _encoder("electra")
    inputs = _inputs("sequence_classification")
    model = build_task_model("sequence_classification", encoder, num_labels=3)
    assert [v.path for v in model.classifier.weights] == [
        "classifier/dense/kernel", "classifier/dense/bias", "classifier/output/kernel", "classifier/output/bias"]
    first = encoder(inputs)["sequence_output"][:, 0].numpy()
    hidden = first @ model.classifier.dense.kernel.numpy() + model.classifier.dense.bias.numpy()
    hidden = hidden * 0.5 * (1 + tf.math.erf(hidden / np.sqrt(2.0)).numpy())  # exact GELU
    expected = hidden @ model.classifier.output_projection.kernel.numpy() + model.classifier.output_projection.bias
    np.testing.assert_allclose(model(inputs)["logits"], expected, atol=1e-5)
    bert = build_task_model("sequence_classification", _encoder("bert"), num_labels=3)
    assert bert.classifier.dense is None  # BERT's reads pooled_output
    assert pooler_is_optional("electra", "sequence_classification")
    assert not pooler_is_optional("bert", "sequence_classification")
    assert pooler_is_optional("bert", "question_answering") and not pooler_is_optional("bert", None)


def test_multiple_choice_scores_each_choice_as_its_own_sequence():
    model = build_task_model("multiple_choice", _encoder("albert"))
    inputs = _inputs("multiple_choice")
    logits = model(inputs)["logits"].numpy()
    for b in range(2):
        for k in range(3):
            one = {key: value[b, k][None] for key, value in inputs.items()}
            pooled = model.encoder(one)["pooled_output"]
            np.testing.assert_allclose(logits[b, k], model.classifier(pooled).numpy()[0, 0], atol=1e-5)
    with pytest.raises(ValueError, match=r"input_word_ids must have shape \[batch, num_choices, seq_length\]"):
        model(_inputs("sequence_classification"))


@pytest.mark.parametrize("kind", ["talking_heads", "albert", "electra"])
def test_save_pretrained_keeps_task_labels_and_head(tmp_path, kind):
    encoder = _encoder(kind)
    model = build_task_model("sequence_classification", encoder, id2label={0: "no", 1: "yes"})
    result = ImportResult(config=encoder.config, model=encoder, encoder=encoder, report=ImportReport(),
                          task_model=model)
    directory = tf2.save_pretrained(result, tmp_path / "fine_tuned")
    meta = json.loads((tmp_path / "fine_tuned" / tf2.CONFIG_FILE).read_text())
    assert meta["task"]["task"] == "sequence_classification" and meta["task"]["id2label"] == {"0": "no", "1": "yes"}
    inputs = _inputs("sequence_classification")
    loaded = official_encoders.from_pretrained(directory, task="auto")
    assert type(loaded) is type(model) and loaded.id2label == {0: "no", 1: "yes"} and loaded.label2id["yes"] == 1
    np.testing.assert_array_equal(loaded(inputs)["logits"], model(inputs)["logits"])
    again = load_directory(directory, task="sequence_classification")
    assert again.report.missing == [] and again.report.unused == [] and again.source_task == "sequence_classification"
    # task=None: the encoder alone, the head reported unused.
    bare = load_directory(directory)
    assert bare.task_model is None and bare.report.unused == sorted(v.path for v in model.classifier.weights)
    np.testing.assert_array_equal(bare.encoder(inputs)["pooled_output"], encoder(inputs)["pooled_output"])
    with pytest.raises(ValueError, match="has no 'token_classification' head.*'sequence_classification'"):
        load_directory(directory, task="token_classification")
    fresh = load_directory(directory, task="token_classification", num_labels=3)
    assert {s for s, _ in fresh.report.allowed_missing} == {FRESH_HEAD}
    assert fresh.task_model.num_labels == 3


def test_training_steps_lower_the_loss():
    keras.utils.set_random_seed(0)
    encoder = _encoder("bert", **NO_DROPOUT)
    model = build_task_model("sequence_classification", encoder, num_labels=2)
    inputs = random_inputs(8, 6, seed=3)
    labels = tf.constant([0, 1] * 4)
    optimizer = keras.optimizers.Adam(1e-2)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    losses = []
    for _ in range(8):
        with tf.GradientTape() as tape:
            loss = loss_fn(labels, model(inputs, training=True)["logits"])
        grads = tape.gradient(loss, model.trainable_variables)
        assert all(g is not None for g in grads)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        losses.append(float(loss))
    print("losses:", [f"{x:.3f}" for x in losses])
    assert losses[-1] < losses[0] * 0.8


def test_span_labeler_trains_towards_the_answer_span():
    keras.utils.set_random_seed(0)
    model = build_task_model("question_answering", _encoder("electra", **NO_DROPOUT))
    inputs = random_inputs(4, 8, seed=4, valid_lengths=[8, 8, 8, 8])
    starts, ends = tf.constant([1, 2, 3, 4]), tf.constant([2, 3, 5, 6])
    optimizer = keras.optimizers.Adam(3e-3)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    losses = []
    for _ in range(8):
        with tf.GradientTape() as tape:
            out = model(inputs, training=True)
            loss = (loss_fn(starts, out["start_logits"]) + loss_fn(ends, out["end_logits"])) / 2
        grads = tape.gradient(loss, model.trainable_variables)
        # The pooler is the one variable a span head never reads.
        assert [v.path for g, v in zip(grads, model.trainable_variables) if g is None] == [
            "pooler_transform/kernel", "pooler_transform/bias"]
        optimizer.apply_gradients((g, v) for g, v in zip(grads, model.trainable_variables) if g is not None)
        losses.append(float(loss))
    assert losses[-1] < losses[0] * 0.8, losses


def test_mixed_precision_logits_stay_float32():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        encoder = build_encoder(tiny_config("bert"))
        model = build_task_model("token_classification", encoder, num_labels=3)
        assert model(_inputs("token_classification"))["logits"].dtype == tf.float32
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_label_arguments_are_checked():
    encoder = _encoder("bert")
    with pytest.raises(ValueError, match="sequence_classification needs num_labels="):
        build_task_model("sequence_classification", encoder)
    with pytest.raises(ValueError, match="num_labels=3 but id2label names 2 labels"):
        build_task_model("sequence_classification", encoder, num_labels=3, id2label={0: "a", 1: "b"})
    with pytest.raises(ValueError, match=r"id2label keys must be 0..1"):
        build_task_model("token_classification", encoder, id2label={0: "a", 2: "b"})
    with pytest.raises(ValueError, match="question_answering heads have 2 outputs; num_labels=3"):
        build_task_model("question_answering", encoder, num_labels=3)
    with pytest.raises(ValueError, match="'translation' is not a task; use one of"):
        build_task_model("translation", encoder)
    assert build_task_model("sequence_classification", encoder, num_labels=1).num_labels == 1  # regression
    assert set(TASK_CLASSES) == set(TASKS)


def test_sources_without_head_weights_take_a_fresh_head_or_their_declared_task():
    result = load_source("preset:google/bert_uncased_L-2_H-128_A-2", task="token_classification", num_labels=5)
    assert result.task_model.num_labels == 5 and result.task_model.encoder is result.encoder
    assert [t for s, t in result.report.allowed_missing if s == FRESH_HEAD] == [
        "classifier/output/kernel", "classifier/output/bias"]
    with pytest.raises(ValueError, match="catalog entry .* declares no task head"):
        load_source("preset:google/bert_uncased_L-2_H-128_A-2", task="auto")
    # A fine-tuned entry declares its task (here on a tiny encoder, as load_preset does for the entry).
    encoder = _encoder("bert")
    declared = attach_task(ImportResult(config=encoder.config, model=encoder, encoder=encoder,
                                        report=ImportReport()), "auto", "catalog entry 'x'",
                           source_task="sequence_classification", source_num_labels=2)
    assert declared.task_model.task == "sequence_classification" and declared.task_model.num_labels == 2
    assert declared.report.missing == []
