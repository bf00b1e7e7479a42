"""tf.distribute strategies for fine-tuning, and which worker writes where."""

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
