"""What a run shows while it trains: a progress line with the loss and steps/s, and TensorBoard scalars."""

import sys
import time

import tensorflow as tf


class Progress:
    """Every `steps_per_loop` steps: the mean loss and steps/s, printed and written as TensorBoard scalars.

    Args:
      verbose: 0 silent; 1 a `keras.utils.Progbar` (for terminals); 2 one line per update (logs).
      epochs: the run's epochs, for the "epoch e/E" line.
      steps_per_loop: steps between updates.
      train_writer / eval_writer: `tf.summary` writers (logs/train, logs/validation).
      learning_rate: a no-argument callable giving the current learning rate.

    Example:

        progress = Progress(2, epochs=3, steps_per_loop=10, train_writer=w, eval_writer=v,
                            learning_rate=lambda: 3e-5)
        progress.start_epoch(0, steps=100)
        progress.step(global_step=1, loss=0.69)
    """

    def __init__(self, verbose, epochs, steps_per_loop, train_writer, eval_writer, learning_rate):
        self.verbose, self.epochs, self.steps_per_loop = verbose, epochs, steps_per_loop
        self.train_writer, self.eval_writer, self.learning_rate = train_writer, eval_writer, learning_rate
        self._bar = None

    def start_epoch(self, epoch, steps, done=0):
        self.epoch, self.steps, self.in_epoch = epoch, steps, done
        self._losses, self._since = [], time.perf_counter()
        self.epoch_losses = []
        if self.verbose:
            print(f"Epoch {epoch + 1}/{self.epochs}" + (f" (resumed after {done} steps)" if done else ""),
                  flush=True)
        if self.verbose == 1:
            import keras

            self._bar = keras.utils.Progbar(steps, stateful_metrics=["loss", "steps/s"])
            if done:
                self._bar.update(done)

    def step(self, global_step, loss):
        self.in_epoch += 1
        self._losses.append(loss)
        self.epoch_losses.append(loss)
        last_of_epoch = self.steps is not None and self.in_epoch == self.steps
        if len(self._losses) >= self.steps_per_loop or last_of_epoch:
            self._report(global_step)

    def _report(self, global_step):
        now = time.perf_counter()
        rate = len(self._losses) / max(now - self._since, 1e-9)
        loss = sum(self._losses) / len(self._losses)
        with self.train_writer.as_default():
            tf.summary.scalar("loss", loss, step=global_step)
            tf.summary.scalar("learning_rate", float(self.learning_rate()), step=global_step)
            tf.summary.scalar("steps_per_second", rate, step=global_step)
        if self._bar is not None:
            self._bar.update(self.in_epoch, [("loss", loss), ("steps/s", rate)])
        elif self.verbose == 2:
            total = f"/{self.steps}" if self.steps is not None else ""
            print(f"  step {self.in_epoch}{total} (global {global_step}) - loss: {loss:.4f} - "
                  f"steps/s: {rate:.1f}", flush=True)
        self._losses, self._since = [], time.perf_counter()

    def end_epoch(self, global_step):
        if self._losses:
            self._report(global_step)
        self.train_writer.flush()
        return sum(self.epoch_losses) / len(self.epoch_losses) if self.epoch_losses else None

    def evaluated(self, epoch, scores):
        with self.eval_writer.as_default():
            for name, value in scores.items():
                tf.summary.scalar(name, value, step=epoch + 1)
        self.eval_writer.flush()
        if self.verbose:
            print(f"  eval epoch {epoch + 1}: " + " - ".join(f"{k}: {v:.4f}" for k, v in scores.items()),
                  file=sys.stdout, flush=True)
