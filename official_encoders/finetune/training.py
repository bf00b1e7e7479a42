"""One optimisation step of a fine-tuning run, the same code under every distribution strategy."""

import tensorflow as tf


def make_train_step(model, loss_fn, optimizer, strategy):
    """A `tf.function(inputs, targets) -> loss` that trains `model` one step on a global batch.

    Args:
      model: the task model; called with `training=True`.
      loss_fn: `(targets, outputs) -> (loss sum, weight sum)` over one replica's batch
        (`FinetuneTask.loss`). The step divides by the weight summed over every replica,
        so the loss is the mean over the global batch (over labelled tokens for tagging)
        whatever the number of replicas.
      optimizer: a Keras optimizer created in `strategy.scope()`; it adds the replicas'
        gradients before applying them.
      strategy: the run's `tf.distribute.Strategy`; the inputs are the per-replica values
        of `strategy.experimental_distribute_dataset`.

    Example:

        step = make_train_step(model, task.loss, optimizer, strategy)
        for inputs, targets in strategy.experimental_distribute_dataset(dataset):
            loss = step(inputs, targets)
    """

    # With one replica its weight is the global weight: no collective to wait on.
    one_replica = strategy.num_replicas_in_sync == 1

    def replica_step(inputs, targets):
        with tf.GradientTape() as tape:
            outputs = model(inputs, training=True)
            loss_sum, weight_sum = loss_fn(targets, outputs)
            total_weight = tf.cast(weight_sum, tf.float32)
            if not one_replica:
                total_weight = tf.distribute.get_replica_context().all_reduce(
                    tf.distribute.ReduceOp.SUM, total_weight)
            loss = tf.cast(loss_sum, tf.float32) / tf.maximum(total_weight, 1.0)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    # reduce_retracing: the first batch of another size (an epoch's last) traces once more with a
    # generic shape, which every further size reuses, instead of one full trace per size.
    # Not jit_compile: XLA on CPU made this step ~1.7x slower (BENCHMARKS.md, QA training).
    @tf.function(reduce_retracing=True)
    def train_step(inputs, targets):
        losses = strategy.run(replica_step, args=(inputs, targets))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

    return train_step
