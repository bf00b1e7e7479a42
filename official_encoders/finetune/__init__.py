"""Fine-tuning for every task: sentence prediction, question answering, tagging, multiple choice.

    python -m official_encoders.finetune --task=sentence_prediction \
        --hub_module_url=http://127.0.0.1:8080/google/bert_uncased_L-2_H-128/1 \
        --train_data=train.tsv --eval_data=dev.tsv --text_columns=sentence1,sentence2 \
        --label_column=label --model_dir=/tmp/run --epochs=3

Exactly one encoder source: `--hub_module_url` (a path, http(s) handle or any
`official_encoders.resolve` handle; our own exports, `.mlm` ones included, are rebuilt
as our Keras encoder, foreign SavedModels run through `HubLayer`) or `--init_checkpoint`
with `--config_file` (a `tf1:`/`tf2:`/`hf:`/`preset:` source spec, a checkpoint prefix of
those layouts, a Keras `.weights.h5` file, or a tf.train.Checkpoint whose root holds the
encoder as `encoder`; a fine-tuned task checkpoint keeps its head when its labels match).
Every setting can also come from `--params_override=task.type=...,trainer.epochs=2`.

The run (`run.py`) is the same for every task; the task (`task_registry.py`, one
`task_base.FinetuneTask` subclass per `--task`) gives the data, model, loss, metrics and
serving module. The preprocessor runs outside the distribution strategy (in
`tf.data.Dataset.map`) and the model is created inside its scope, as the TF-Hub text API asks.

Writes to `--model_dir`: `eval_results.json` (one entry per epoch), TensorBoard scalars
(`logs/`), checkpoints every `--steps_per_checkpoint` steps (`checkpoints/`, read by
`--resume`), `final/` (our tf2 format with the task head, labels, vocabulary and task
settings, for `python -m export --source=tf2:<model_dir>/final --export_type=<task>`) and
`export/`, the text-in serving SavedModel with the task exports' contract (sequence
classification: `text` [+ `text_pair`] -> `probabilities`, `label`, `score`; regression:
`score`). `assets.extra/tf_serving.json` lists the custom ops (tensorflow-text) TF Serving
must link in, and the label names.
"""
