"""tf.distribute strategies for fine-tuning, and the loop for MultiWorkerMirroredStrategy."""

import json
import os


def make_strategy(name):
    import tensorflow as tf

    if name == "one_device":
        # The default strategy runs on one device (the first GPU if any) without the
        # per-epoch cost of distributing the dataset that OneDeviceStrategy adds.
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    # Listing devices would start the runtime, which must not happen before this.
    if "TF_CONFIG" not in os.environ:
        raise ValueError("--distribution_strategy=multi_worker_mirrored needs TF_CONFIG "
                         "(cluster and task) in the environment of every worker.")
    return tf.distribute.MultiWorkerMirroredStrategy()


def split_cpu(num_devices):
    """Splits the CPU into logical devices (to test `mirrored` without GPUs)."""
    import tensorflow as tf

    if num_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)


def fit_multi_worker(model, strategy, train_ds, eval_ds, epochs, log_dir, verbose):
    """Training loop for MultiWorkerMirroredStrategy, which Keras 3.15's `fit` cannot run.

    (`fit` averages scalar metric logs with `strategy.reduce(..., axis=0)`, which the
    collective strategy refuses.) Same contract as fit here: per-epoch evaluation,
    TensorBoard scalars, a progress bar, and a history dict.
    """
    import keras
    import tensorflow as tf

    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")
    optimizer = model.optimizer

    def replica_totals(x, y, training):
        with tf.GradientTape() as tape:
            logits = model(x, training=training)
            losses = loss_fn(y, logits)
            regularization = tf.add_n(model.losses) if model.losses else 0.0
            objective = (tf.nn.compute_average_loss(losses)
                         + tf.nn.scale_regularization_loss(regularization))
        if training:
            variables = model.trainable_variables
            optimizer.apply_gradients(zip(tape.gradient(objective, variables), variables))
        correct = tf.reduce_sum(tf.cast(
            tf.equal(tf.argmax(logits, -1, output_type=tf.int32), tf.cast(y, tf.int32)), tf.float32))
        return tf.reduce_sum(losses), correct, tf.cast(tf.size(y), tf.float32)

    def make_step(training):
        @tf.function
        def step(batch):
            totals = strategy.run(replica_totals, args=(*batch, training))
            return [strategy.reduce("SUM", t, axis=None) for t in totals]
        return step

    def run_epoch(dataset, step, progress=None):
        loss = correct = count = 0.0
        for index, batch in enumerate(strategy.experimental_distribute_dataset(dataset), 1):
            batch_loss, batch_correct, batch_count = (float(t) for t in step(batch))
            loss, correct, count = loss + batch_loss, correct + batch_correct, count + batch_count
            if progress is not None:
                progress.update(index, [("loss", batch_loss / batch_count)])
        return {"loss": loss / count, "accuracy": correct / count}

    train_step, eval_step = make_step(True), make_step(False)
    writers = {split: tf.summary.create_file_writer(os.path.join(log_dir, split))
               for split in ("train", "validation")}
    history = {}
    for epoch in range(epochs):
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs}", flush=True)
        progress = keras.utils.Progbar(None, verbose=verbose) if verbose else None
        logs = run_epoch(train_ds, train_step, progress)
        if eval_ds is not None:
            logs.update({f"val_{k}": v for k, v in run_epoch(eval_ds, eval_step).items()})
        for key, value in logs.items():
            history.setdefault(key, []).append(value)
            split = "validation" if key.startswith("val_") else "train"
            with writers[split].as_default():
                tf.summary.scalar(f"epoch_{key.removeprefix('val_')}", value, step=epoch)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()), flush=True)
    return history


def is_chief():
    config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    task = config.get("task", {})
    return task.get("type", "chief") == "chief" or (
        task.get("type") == "worker" and task.get("index", 0) == 0
        and "chief" not in config.get("cluster", {}))


def worker_dir(params, what):
    """Non-chief workers must take part in saving but write to a private directory."""
    task = json.loads(os.environ["TF_CONFIG"])["task"]
    return os.path.join(params.model_dir, "workers", f"{task['type']}_{task['index']}", what)
