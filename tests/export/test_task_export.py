"""Task exports: build, save, reload (hub.load, hub.KerasLayer), verify, fine-tune through the root."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from export import task_export, task_verify
from official_encoders.models import build_encoder
from official_encoders.tasks import build_task_model
from tests.common.tiny_configs import tiny_config
from tests.preprocessors.conftest import tiny_vocab  # noqa: F401  (shared fixture)

LABELS = {"sequence_classification": ["negative", "positive"],
          "token_classification": ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"], "multiple_choice": None}


def tiny_task_model(task):
    keras.utils.set_random_seed(1)
    labels = LABELS[task]
    return build_task_model(task, build_encoder(tiny_config("bert")),
                            id2label=dict(enumerate(labels)) if labels else None)


@pytest.fixture(scope="module", params=task_export.TASK_EXPORT_TYPES)
def exported(request, tmp_path_factory, tiny_vocab):  # noqa: F811
    task = request.param
    tmp_path = tmp_path_factory.mktemp(task)
    model = tiny_task_model(task)
    root = task_export.build_task_module(model, task, vocab_file=tiny_vocab, do_lower_case=False,
                                         labels_dir=tmp_path)
    export_dir = tmp_path / "export"
    notes = task_export.save_task_model(root, export_dir, task)
    assert notes == json.loads((export_dir / "assets.extra" / "tf_serving.json").read_text())
    assert notes["inputs"] == list(root.serving.input_names) and notes["required_op_libraries"] == ["tensorflow_text"]
    return task, model, root, export_dir


def test_the_reloaded_task_export_equals_the_in_memory_model(exported):
    import tensorflow_hub as hub

    task, model, root, export_dir = exported
    figures = task_verify.verify_task(export_dir, root, model, task)
    assert max(figures["max_abs_diff"].values()) <= 1e-5
    loaded = hub.load(str(export_dir))
    assert loaded.vocab_file.asset_path.numpy().decode().startswith(str(export_dir))
    if LABELS[task]:
        labels_path = loaded.labels_file.asset_path.numpy().decode()
        assert open(labels_path, encoding="utf-8").read().split("\n")[:-1] == LABELS[task]
    assert len(loaded.encoder.variables) == len(model.encoder.variables)
    # .encoder shares the root's variables: the very same tf.Variable objects.
    assert {id(v) for v in loaded.encoder.variables} <= {id(v) for v in loaded.variables}
    samples = task_verify.sample_serving_inputs(task)
    got = loaded.signatures["serving_default"](**samples)
    want = root.serving(**samples)
    assert sorted(got) == sorted(want)
    for key in want:
        if want[key].dtype.is_floating:
            np.testing.assert_allclose(got[key].numpy(), want[key].numpy(), atol=1e-5)
        else:
            np.testing.assert_array_equal(got[key].numpy(), want[key].numpy())


def test_fine_tuning_through_the_reusable_root_lowers_the_loss(exported):
    import tensorflow_hub as hub
    import tf_keras

    task, model, _, export_dir = exported
    rank = task_export.input_rank(task)
    inputs = task_verify._encoder_inputs(model.encoder.config, task)
    logits = model(inputs)["logits"]
    targets = tf.argmin(logits, axis=-1)  # the labels the model likes least: there is a loss to lower
    keras_inputs = {k: tf_keras.Input([None] * (rank - 1), dtype=tf.int32, name=k) for k in inputs}
    layer = hub.KerasLayer(str(export_dir), trainable=True)
    tf_model = tf_keras.Model(keras_inputs, layer(keras_inputs)["logits"])
    tf_model.compile(optimizer=tf_keras.optimizers.Adam(1e-2),
                     loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = tf_model.evaluate(inputs, targets, verbose=0)
    tf_model.fit(inputs, targets, epochs=5, verbose=0)
    after = tf_model.evaluate(inputs, targets, verbose=0)
    assert after < 0.8 * before, (before, after)
