"""make_train_step: one step under MirroredStrategy on two CPUs equals one step on one device.

Two logical CPUs must be configured before TensorFlow initialises its devices, so the
comparison runs in a fresh Python process (`_compare_strategies`), which prints JSON.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
BATCH, SEQ = 4, 8
# Per-example weights: the first replica gets weight 2, the second 1, so a mean of per-replica
# means (loss 0.5 * (a + b) / 2 + ...) differs from the global mean this step must give.
WEIGHTS = [1.0, 1.0, 1.0, 0.0]


def _weighted_span_loss(targets, outputs):
    """A `loss_fn`: the weighted mean-of-start-and-end cross-entropy, as (sum, weight sum)."""
    import tensorflow as tf

    def cross_entropy(labels, logits):
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)

    per_example = 0.5 * (cross_entropy(targets["start_positions"], outputs["start_logits"])
                         + cross_entropy(targets["end_positions"], outputs["end_logits"]))
    return tf.reduce_sum(targets["weight"] * per_example), tf.reduce_sum(targets["weight"])


def _batch():
    rng = np.random.default_rng(3)
    inputs = dict(input_word_ids=rng.integers(1, 100, (BATCH, SEQ)).astype("int32"),
                  input_mask=np.ones((BATCH, SEQ), "int32"),
                  input_type_ids=np.repeat([[0] * 3 + [1] * 5], BATCH, axis=0).astype("int32"))
    targets = dict(start_positions=rng.integers(3, SEQ, BATCH).astype("int32"),
                   end_positions=rng.integers(3, SEQ, BATCH).astype("int32"),
                   weight=np.array(WEIGHTS, "float32"))
    return inputs, targets


def _compare_strategies():
    """Child process: one SGD step of the same tiny QA model and batch on one device and
    under MirroredStrategy over two logical CPUs; prints the losses and weights as JSON."""
    from official_encoders.finetune.distribute import make_strategy, split_cpu

    split_cpu(2)
    import keras
    import tensorflow as tf

    from official_encoders import build_encoder
    from official_encoders.finetune.training import make_train_step
    from official_encoders.tasks import build_task_model
    from tests.common.tiny_configs import tiny_config

    inputs, targets = _batch()
    config = tiny_config(hidden_dropout=0.0, attention_dropout=0.0)
    keras.utils.set_random_seed(0)
    reference = build_task_model("question_answering", build_encoder(config))
    reference(inputs)
    initial = reference.get_weights()
    logits = {k: v.numpy().tolist() for k, v in reference(inputs, training=True).items()}
    result = {"logits": logits, "steps": {}}
    for name in ("one_device", "mirrored"):
        strategy = make_strategy(name)
        with strategy.scope():
            model = build_task_model("question_answering", build_encoder(config))
            model(inputs)
            model.set_weights(initial)
            # SGD: the update is proportional to the gradient, so a wrongly scaled loss shows.
            optimizer = keras.optimizers.SGD(learning_rate=0.5)
        step = make_train_step(model, _weighted_span_loss, optimizer, strategy)
        dataset = tf.data.Dataset.from_tensors((inputs, targets))
        (batch_inputs, batch_targets), = strategy.experimental_distribute_dataset(dataset)
        loss = float(step(batch_inputs, batch_targets))
        result["steps"][name] = dict(replicas=strategy.num_replicas_in_sync, loss=loss,
                                     weights=[w.tolist() for w in model.get_weights()])
    result["initial"] = [w.tolist() for w in initial]
    print("RESULT " + json.dumps(result))


def _log_softmax(x):
    x = np.asarray(x, np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def test_mirrored_step_on_two_cpus_equals_one_device_step_and_the_global_mean():
    code = "from tests.official_encoders.finetune.test_training import _compare_strategies; _compare_strategies()"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.split("RESULT ", 1)[1])
    one, mirrored = result["steps"]["one_device"], result["steps"]["mirrored"]
    assert (one["replicas"], mirrored["replicas"]) == (1, 2)

    _, targets = _batch()
    rows = np.arange(BATCH)
    per_example = -0.5 * (_log_softmax(result["logits"]["start_logits"])[rows, targets["start_positions"]]
                          + _log_softmax(result["logits"]["end_logits"])[rows, targets["end_positions"]])
    expected = float(np.sum(targets["weight"] * per_example) / np.sum(targets["weight"]))
    assert abs(one["loss"] - expected) < 1e-5
    assert abs(mirrored["loss"] - expected) < 1e-5

    changed = 0
    for before, after_one, after_mirrored in zip(result["initial"], one["weights"], mirrored["weights"]):
        np.testing.assert_allclose(after_mirrored, after_one, rtol=0, atol=1e-5)
        changed += not np.allclose(after_one, before, rtol=0, atol=1e-4)
    assert changed > len(result["initial"]) // 2  # the step really moved the weights
