"""One fine-tuning run, the same for every task: read, build, train, evaluate, checkpoint, write.

The loop asks the run's `FinetuneTask` (`finetune/task_registry.py`) for everything that
depends on the task and does the rest itself: the distribution strategy, the encoder, the
optimiser (AdamW), the train step (`training.make_train_step`), per-epoch evaluation into
`eval_results.json`, progress and TensorBoard scalars, checkpoints every
`steps_per_checkpoint` steps (and `resume`), and at the end `final/` and `export/`.
"""

import dataclasses
import os
import time

from official_encoders.finetune.distribute import is_chief, make_strategy, worker_dir
from official_encoders.finetune.evaluation import EVAL_RESULTS, append_eval_results
from official_encoders.finetune.model import build_run_encoder
from official_encoders.finetune.preprocess import make_run_text
from official_encoders.finetune.progress import Progress
from official_encoders.finetune.serving import EXPORT, FINAL, export_serving, write_final
from official_encoders.finetune.task_registry import task_class
from official_encoders.finetune.train_state import CHECKPOINTS, TrainState
from official_encoders.finetune.training import make_train_step


def _epoch_dataset(task, examples, text, label_names, epoch):
    """The training batches of `epoch`: shuffled with `seed + epoch`, so a resumed run sees the same order."""
    params = task.params
    task.params = dataclasses.replace(params, seed=params.seed + epoch)
    try:
        return task.dataset(examples, text, label_names, training=True)
    finally:
        task.params = params


def _cardinality(dataset):
    import tensorflow as tf

    count = int(dataset.cardinality())
    return None if count in (tf.data.UNKNOWN_CARDINALITY, tf.data.INFINITE_CARDINALITY) else count


def best_epoch(model_dir, monitor):
    """The entry of `<model_dir>/eval_results.json` with the highest `monitor`, or None."""
    import json

    path = os.path.join(model_dir, EVAL_RESULTS)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        entries = [e for e in json.load(f) if e.get(monitor) is not None]
    return max(entries, key=lambda e: (e[monitor], -e["epoch"])) if entries else None


def run(params, verbose=1):
    """Fine-tunes `params.task`; returns a summary dict (what the CLI prints as `SUMMARY {json}`).

    What `python -m official_encoders.finetune` runs.

    Args:
      params: a `FinetuneParams` (exactly one of `hub_module_url` / `init_checkpoint`,
        `train_data`, `model_dir`, ...); it is validated first.
      verbose: 0 silent, 1 a progress bar, 2 one line per `steps_per_loop` steps (logs).

    Returns:
      A dict: examples (train/eval counts, skipped bad records), labels, replicas, strategy,
      steps, history (per-epoch train `loss` of this process and `val_<metric>`), best
      (the best epoch's entry of eval_results.json by the task's `monitor`), monitor,
      export_dir, final_dir (None, with final_note, when it cannot be written), custom_ops,
      resumed_from, notes and seconds.

    Example:

        summary = run(FinetuneParams(hub_module_url="hub/local/all_minilm_l6_v2/1",
                                     train_data="train.tsv", eval_data="dev.tsv",
                                     model_dir="/tmp/run", epochs=2))
        summary["best"]        # {'epoch': 2, 'accuracy': ..., 'f1': ..., 'matthews_corrcoef': ...}
    """
    import keras
    import tensorflow as tf

    params.validate()
    started = time.time()
    # First: multi_worker_mirrored must configure collectives before TF runs any op.
    strategy = make_strategy(params.distribution_strategy)
    keras.utils.set_random_seed(params.seed)
    task = task_class(params.task)(params)
    train = task.read(params.train_data)
    label_names = task.label_names(train.examples)
    evaluation = task.read(params.eval_data) if params.eval_data else None

    with strategy.scope():
        run_encoder = build_run_encoder(params, task.model_task, label_names)
        label_names = run_encoder.label_names or label_names
        model = run_encoder.task_model or task.build_model(run_encoder.encoder, label_names)
        optimizer = keras.optimizers.AdamW(params.learning_rate, weight_decay=0.01)
        optimizer.build(model.trainable_variables)
    # Outside the strategy scope, as the TF-Hub text API asks for preprocessors.
    text = make_run_text(params, run_encoder)

    chief = is_chief()
    own_dir = (lambda name: os.path.join(params.model_dir, name)) if chief else (
        lambda name: worker_dir(params, name))
    state = TrainState(model, optimizer, own_dir(CHECKPOINTS))
    resumed_from = None
    if params.resume:
        resumed_from = state.restore_latest(os.path.join(params.model_dir, CHECKPOINTS))
        if verbose:
            print(f"Resuming from {resumed_from} (step, epoch, batch {state.position()})" if resumed_from
                  else "--resume: no checkpoint yet; starting from the beginning", flush=True)
    logs = own_dir("logs")
    progress = Progress(verbose, params.epochs, params.steps_per_loop,
                        tf.summary.create_file_writer(os.path.join(logs, "train")),
                        tf.summary.create_file_writer(os.path.join(logs, "validation")),
                        lambda: tf.convert_to_tensor(optimizer.learning_rate))
    train_step = make_train_step(model, task.loss, optimizer, strategy)

    history = {}
    _, start_epoch, done = state.position()
    for epoch in range(start_epoch, params.epochs):
        dataset = _epoch_dataset(task, train.examples, text, label_names, epoch)
        steps = _cardinality(dataset)
        skip = done if epoch == start_epoch else 0
        progress.start_epoch(epoch, steps, skip)
        for inputs, targets in strategy.experimental_distribute_dataset(dataset.skip(skip)):
            loss = float(train_step(inputs, targets))
            state.advance()
            step = int(state.step)
            progress.step(step, loss)
            if step % params.steps_per_checkpoint == 0:
                state.save()
        mean_loss = progress.end_epoch(int(state.step))
        if mean_loss is not None:
            history.setdefault("loss", []).append(mean_loss)
        state.end_epoch()
        if evaluation is not None and chief:
            # Outside strategy.run, so no collective op runs on the chief alone.
            scores = task.evaluate(model, evaluation.examples, text, label_names, params.model_dir)
            append_eval_results(params.model_dir, epoch + 1, scores)
            progress.evaluated(epoch, scores)
            for name, value in scores.items():
                history.setdefault(f"val_{name}", []).append(value)
    state.save()

    serving = task.serving_module(model, text, label_names)
    export_dir = own_dir(EXPORT)
    settings = task.settings()
    custom_ops = export_serving(serving, model, export_dir, labels=getattr(serving, "labels", ()),
                                task=task.model_task, settings=settings)
    final_dir = None
    if run_encoder.native:
        final_dir = write_final(run_encoder, model, text, settings, own_dir(FINAL))
    return {
        "task": params.task,
        "examples": {"train": len(train.examples), "eval": len(evaluation.examples) if evaluation else 0,
                     "skipped": {"train": train.skipped, "eval": evaluation.skipped if evaluation else []}},
        "labels": label_names,
        "replicas": strategy.num_replicas_in_sync,
        "strategy": params.distribution_strategy,
        "steps": int(state.step),
        "history": history,
        "monitor": task.monitor,
        "best": best_epoch(params.model_dir, task.monitor) if chief else None,
        "export_dir": export_dir,
        "final_dir": final_dir,
        "final_note": run_encoder.final_note,
        "custom_ops": custom_ops,
        "resumed_from": resumed_from,
        "notes": run_encoder.notes,
        "seconds": round(time.time() - started, 1),
    }
