"""The resumable state of a run: model and optimizer variables, the step, the epoch and the data position.

A `tf.train.CheckpointManager` in `<model_dir>/checkpoints` keeps the last few. With the
same seed, a resumed run reads the same batches as an unkilled one: each epoch shuffles
with `seed + epoch`, and the batches of the epoch already trained on are skipped.
"""

import tensorflow as tf

CHECKPOINTS = "checkpoints"
MAX_TO_KEEP = 3


def _by_index(variables):
    return {str(i): getattr(v, "value", v) for i, v in enumerate(variables)}


class TrainState:
    """What `--resume` restores, checkpointed every `steps_per_checkpoint` steps.

    Args:
      model: the task model (every variable, trainable or not).
      optimizer: its optimizer, already built on the model's trainable variables.
      directory: where this process writes its checkpoints.

    Attributes:
      step, epoch, batch: int64 variables: optimizer steps so far, the current epoch (0-based)
        and how many of its batches are done.

    Example:

        state = TrainState(model, optimizer, "/tmp/run/checkpoints")
        state.restore_latest("/tmp/run/checkpoints")   # --resume
        state.advance(); state.save()
    """

    def __init__(self, model, optimizer, directory):
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.batch = tf.Variable(0, dtype=tf.int64, trainable=False, name="batch_in_epoch")
        self.checkpoint = tf.train.Checkpoint(model=_by_index(model.weights),
                                              optimizer=_by_index(optimizer.variables),
                                              step=self.step, epoch=self.epoch, batch=self.batch)
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory, max_to_keep=MAX_TO_KEEP)

    def restore_latest(self, directory):
        """Restores the newest checkpoint in `directory`; returns its path, or None if there is none."""
        path = tf.train.latest_checkpoint(directory)
        if path is not None:
            self.checkpoint.restore(path).assert_existing_objects_matched()
        return path

    def advance(self):
        self.step.assign_add(1)
        self.batch.assign_add(1)

    def end_epoch(self):
        self.epoch.assign_add(1)
        self.batch.assign(0)

    def save(self):
        return self.manager.save(checkpoint_number=int(self.step))

    def position(self):
        """(step, epoch, batch) as ints."""
        return int(self.step), int(self.epoch), int(self.batch)
