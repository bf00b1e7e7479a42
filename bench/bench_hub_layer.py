"""Fine-tuning step time: encoder used directly vs through HubLayer vs through hub.KerasLayer.

    python -m bench.bench_hub_layer [--steps=30] [--rounds=5] [--batch_size=16] [--seq_length=128]

One process, one BERT encoder. The encoder is exported as a Reusable SavedModel
with export.saved_model, then the same classification step (encoder, Dense(2),
Adam, sparse cross-entropy) runs three ways:

- direct:      the Keras 3 BertEncoder inside a Keras 3 model;
- HubLayer:    official_encoders.HubLayer(saved_model, trainable=True) in Keras 3;
- KerasLayer:  tensorflow_hub.KerasLayer(saved_model, trainable=True) in tf_keras.

Rounds interleave the three so that load from other processes hits all of them
alike; the median step time per way and the ratios to `direct` are printed (and
written to BENCHMARKS.md with --write).
"""

import os
import platform
import statistics
import tempfile
import time
import types

from absl import app
from absl import flags

from bench.results import write_section

FLAGS = flags.FLAGS


def define_flags():
    """Declares the flags; only when run as a program, so importing this module never clashes."""
    flags.DEFINE_integer("steps", 20, "Timed training steps per way and round.")
    flags.DEFINE_integer("rounds", 5, "Interleaved rounds.")
    flags.DEFINE_integer("batch_size", 16, "Batch size.")
    flags.DEFINE_integer("seq_length", 128, "Sequence length.")
    flags.DEFINE_integer("hidden_size", 256, "Encoder hidden size.")
    flags.DEFINE_integer("num_layers", 4, "Transformer layers.")
    flags.DEFINE_bool("write", False, "Replace this benchmark's section of BENCHMARKS.md.")


def _config():
    from official_encoders.models.configs import EncoderConfig

    return EncoderConfig(vocab_size=8000, hidden_size=FLAGS.hidden_size, num_layers=FLAGS.num_layers,
                         num_heads=max(1, FLAGS.hidden_size // 64),
                         intermediate_size=4 * FLAGS.hidden_size,
                         max_position_embeddings=max(512, FLAGS.seq_length))


def _batch(seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    shape = (FLAGS.batch_size, FLAGS.seq_length)
    x = {"input_word_ids": rng.integers(1, 8000, shape).astype("int32"),
         "input_mask": np.ones(shape, "int32"), "input_type_ids": np.zeros(shape, "int32")}
    return x, rng.integers(0, 2, FLAGS.batch_size).astype("int32")


def _export(encoder, directory):
    from export import saved_model

    vocab = os.path.join(directory, "vocab.txt")
    with open(vocab, "w") as f:
        f.write("\n".join(f"[unused{i}]" for i in range(8000)) + "\n")
    result = types.SimpleNamespace(encoder=encoder, model=encoder, vocab_file=vocab,
                                   sp_model_file=None, do_lower_case=True)
    module = saved_model.build_encoder_module(result, with_heads=False)
    path = os.path.join(directory, "encoder")
    saved_model.save_encoder_model(module, path)
    return path


def _keras3_step(encoder_layer, x):
    import keras

    inputs = {k: keras.Input((None,), dtype="int32", name=k) for k in x}
    logits = keras.layers.Dense(2)(encoder_layer(inputs)["pooled_output"])
    model = keras.Model(inputs, logits)
    model.compile(keras.optimizers.Adam(1e-5),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model.train_on_batch


def _tf_keras_step(path, x):
    import tensorflow_hub as hub
    import tf_keras

    inputs = {k: tf_keras.Input((None,), dtype="int32", name=k) for k in x}
    outputs = hub.KerasLayer(path, trainable=True)(inputs)["pooled_output"]
    model = tf_keras.Model(inputs, tf_keras.layers.Dense(2)(outputs))
    model.compile(tf_keras.optimizers.Adam(1e-5),
                  tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model.train_on_batch


def _tf_keras_fit_loop_step(path, x, y):
    """hub.KerasLayer driven as fit drives it: the compiled train function over a dataset
    iterator, without train_on_batch's per-call data handling."""
    import tensorflow as tf

    model = _tf_keras_step(path, x).__self__
    train_function = model.make_train_function()
    iterator = iter(tf.data.Dataset.from_tensors((x, y)).repeat())
    return lambda features, labels: train_function(iterator)


def _tf_keras_without_hub_layer_step(path, x):
    """The same SavedModel and head in tf_keras, called from a plain Layer instead of
    hub.KerasLayer: separates hub.KerasLayer's own cost from tf_keras's fit machinery."""
    import tensorflow_hub as hub
    import tf_keras

    class SavedModelLayer(tf_keras.layers.Layer):
        def __init__(self, loaded, **kwargs):
            super().__init__(**kwargs)
            self.loaded = loaded
            self.encoder_variables = list(loaded.trainable_variables)  # tracked as weights

        def call(self, inputs, training=None):
            return self.loaded(inputs, training=bool(training))["pooled_output"]

    inputs = {k: tf_keras.Input((None,), dtype="int32", name=k) for k in x}
    outputs = SavedModelLayer(hub.load(path))(inputs)
    model = tf_keras.Model(inputs, tf_keras.layers.Dense(2)(outputs))
    model.compile(tf_keras.optimizers.Adam(1e-5),
                  tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model.train_on_batch


def _raw_tf_function_step(path, x):
    """No Keras around the SavedModel: a tf.function with a GradientTape and tf_keras's Adam."""
    import tensorflow as tf
    import tensorflow_hub as hub
    import tf_keras

    loaded = hub.load(path)
    head = tf_keras.layers.Dense(2)
    optimizer = tf_keras.optimizers.Adam(1e-5)
    loss_fn = tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(features, labels):
        with tf.GradientTape() as tape:
            loss = loss_fn(labels, head(loaded(features, training=True)["pooled_output"]))
        variables = list(loaded.trainable_variables) + head.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    return step


def _time_steps(step, x, y, steps):
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        step(x, y)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv):
    del argv
    import official_encoders
    from official_encoders.hub.hub_layer import HubLayer

    x, y = _batch()
    with tempfile.TemporaryDirectory() as directory:
        source = official_encoders.build_encoder(_config())
        source({k: v[:1, :8] for k, v in x.items()})
        path = _export(source, directory)
        direct = official_encoders.build_encoder(_config())
        steps = {
            "direct": _keras3_step(direct, x),
            "HubLayer": _keras3_step(HubLayer(path, trainable=True), x),
            "hub.KerasLayer": _tf_keras_step(path, x),
            "hub.KerasLayer, fit's train function": _tf_keras_fit_loop_step(path, x, y),
            "tf_keras, plain Layer over hub.load": _tf_keras_without_hub_layer_step(path, x),
            "tf.function + GradientTape over hub.load": _raw_tf_function_step(path, x),
        }
        for name, step in steps.items():  # trace and warm up
            for _ in range(3):
                step(x, y)
        medians = {name: [] for name in steps}
        for round_index in range(FLAGS.rounds):
            for name, step in steps.items():
                medians[name].append(_time_steps(step, x, y, FLAGS.steps))
            print(f"round {round_index + 1}/{FLAGS.rounds}: " + ", ".join(
                f"{n} {medians[n][-1] * 1e3:.1f} ms" for n in steps), flush=True)
    result = {name: statistics.median(values) for name, values in medians.items()}
    lines = [f"| {name} | {result[name] * 1e3:.1f} | {result[name] / result['direct']:.3f} |"
             for name in result]
    table = "| way | median step (ms) | ratio to direct |\n|---|---|---|\n" + "\n".join(lines)
    verdict = "Verdict: " + "; ".join(
        f"{name} {result[name] / result['direct']:.2f}x the direct model: target 1.1x "
        + ("met" if result[name] / result["direct"] <= 1.1 else "NOT met")
        for name in result if name != "direct") + "."
    table += "\n\n" + verdict
    print(table)
    if FLAGS.write:
        _append_benchmarks(table)


def _append_benchmarks(table):
    import keras
    import tensorflow as tf

    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs "
               f"(load average {os.getloadavg()[0]:.1f}), Python {platform.python_version()}, "
               f"TensorFlow {tf.__version__}, Keras {keras.__version__}")
    command = (f"python -m bench.bench_hub_layer --steps={FLAGS.steps} --rounds={FLAGS.rounds} "
               f"--batch_size={FLAGS.batch_size} --seq_length={FLAGS.seq_length} "
               f"--hidden_size={FLAGS.hidden_size} --num_layers={FLAGS.num_layers}")
    section = (
        "\n## Fine-tuning step: direct vs HubLayer vs hub.KerasLayer\n\n"
        f"Machine: {machine}.\n\nCommand: `{command}`\n\n"
        "One training step (BERT encoder + Dense(2), Adam) on the same batch; median of the "
        "per-round medians over interleaved rounds. Target: HubLayer and hub.KerasLayer at most "
        "1.1x the direct model. The extra tf_keras ways (fit's train function over a tf.data "
        "iterator, a plain Layer over hub.load, a bare tf.function step) show where "
        "hub.KerasLayer's time goes.\n\n" + table + "\n")
    write_section(section)


if __name__ == "__main__":
    define_flags()
    app.run(main)
