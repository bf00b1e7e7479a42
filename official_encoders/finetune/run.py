"""One fine-tuning run: read, build, train, evaluate, export."""

import os
import time

from official_encoders.finetune.data import label_ids, make_dataset, read_examples
from official_encoders.finetune.evaluation import (EvalResultsCallback, append_eval_results,
                                                   sentence_prediction_evaluation)
from official_encoders.finetune.distribute import fit_multi_worker, is_chief, make_strategy, worker_dir
from official_encoders.finetune.model import build_classifier
from official_encoders.finetune.preprocess import load_preprocessor
from official_encoders.finetune.serving import export_text_classifier


def run(params, verbose=1):
    """Trains, evaluates each epoch, logs to TensorBoard and exports; returns a summary dict.

    What `python -m official_encoders.finetune` runs.

    Args:
      params: a `FinetuneParams` (exactly one of `hub_module_url` / `init_checkpoint`,
        `train_data`, `model_dir`, ...); it is validated first.
      verbose: Keras verbosity (0 silent, 1 progress bar, 2 one line per epoch).

    Example:

        summary = run(FinetuneParams(hub_module_url="hub/local/all_minilm_l6_v2/1",
                                     train_data="train.tsv", eval_data="dev.tsv",
                                     model_dir="/tmp/run", epochs=2))
        summary["export_dir"]   # '/tmp/run/export', a text-in SavedModel
    """
    import keras
    import tensorflow as tf

    params.validate()
    started = time.time()
    # First: multi_worker_mirrored must configure collectives before TF runs any op.
    strategy = make_strategy(params.distribution_strategy)
    keras.utils.set_random_seed(params.seed)
    columns = params.text_column_list
    train_texts, train_labels = read_examples(params.train_data, columns, params.label_column,
                                              params.has_header)
    label_names = sorted(set(train_labels))
    train_y = label_ids(train_labels, label_names, params.train_data)
    eval_data = None
    if params.eval_data:
        eval_texts, eval_labels = read_examples(params.eval_data, columns, params.label_column,
                                                params.has_header)
        eval_data = (eval_texts, label_ids(eval_labels, label_names, params.eval_data))

    with strategy.scope():
        model, encoder_object = build_classifier(params, len(label_names))
        model.compile(optimizer=keras.optimizers.AdamW(params.learning_rate, weight_decay=0.01),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    # Outside the strategy scope, as the TF-Hub text API asks for preprocessors.
    preprocessor = load_preprocessor(params, encoder_object)
    train_ds = make_dataset(train_texts, train_y, preprocessor, params.batch_size, True, params.seed)
    eval_ds = (make_dataset(*eval_data, preprocessor, params.batch_size, False, params.seed)
               if eval_data else None)

    chief = is_chief()
    log_dir = os.path.join(params.model_dir, "logs") if chief else worker_dir(params, "logs")
    num_classes = len(label_names)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        history = fit_multi_worker(model, strategy, train_ds, eval_ds, params.epochs, log_dir,
                                   verbose)
        if eval_ds is not None and chief:
            # Outside strategy.run, so no collective op runs on the chief alone.
            logits = tf.concat([model(x, training=False) for x, _ in eval_ds], axis=0)
            append_eval_results(params.model_dir, params.epochs, sentence_prediction_evaluation(
                logits, eval_data[1], num_classes))
    else:
        callbacks = [keras.callbacks.TensorBoard(log_dir=log_dir)]
        if eval_ds is not None:
            # Before TensorBoard, so the epoch's val_<metric> scalars are logged too.
            callbacks.insert(0, EvalResultsCallback(eval_ds, eval_data[1], num_classes, params.model_dir))
        history = model.fit(train_ds, validation_data=eval_ds, epochs=params.epochs,
                            verbose=verbose, shuffle=False,  # the dataset shuffles itself
                            callbacks=callbacks).history

    export_dir = os.path.join(params.model_dir, "export") if chief else worker_dir(params, "export")
    ops = export_text_classifier(model, preprocessor, len(columns), label_names, export_dir)
    summary = {
        "examples": {"train": len(train_y), "eval": len(eval_data[1]) if eval_data else 0},
        "labels": label_names,
        "replicas": strategy.num_replicas_in_sync,
        "strategy": params.distribution_strategy,
        "history": {k: [float(v) for v in vs] for k, vs in history.items()},
        "export_dir": export_dir,
        "custom_ops": ops,
        "seconds": round(time.time() - started, 1),
    }
    return summary
