"""Fine-tuning: fine-tunes an encoder for sentence or sentence-pair classification, then exports it for TF Serving.

    python -m official_encoders.finetune \
        --hub_module_url=http://127.0.0.1:8080/google/bert_uncased_L-2_H-128/1 \
        --train_data=train.tsv --eval_data=dev.tsv --text_columns=sentence1,sentence2 \
        --label_column=label --model_dir=/tmp/run --epochs=3

Exactly one encoder source: `--hub_module_url` (a path, http(s) handle or any
`official_encoders.resolve` handle) or `--init_checkpoint` with `--config_file`
(a checkpoint written by official_encoders.checkpoints.tf2.save_tf2, a google-research TF1
checkpoint, a `tf1:`/`tf2:`/`hf:`/`preset:` source spec, a Keras `.weights.h5`
file, or a tf.train.Checkpoint whose root holds the encoder as `encoder`). The same settings
can come from `--params_override=task.hub_module_url=...,trainer.epochs=2`.

As the TF-Hub text API asks, the preprocessor runs outside the distribution
strategy (in `tf.data.Dataset.map`) and the encoder is created inside its scope.
The preprocessor is `--preprocess_url`, or is built from the encoder's own
vocabulary asset (or `--vocab_file` / `--sp_model_file`).

Writes to `--model_dir`: TensorBoard logs (`logs/`), and `export/`, a SavedModel
whose `serving_default` takes raw strings and returns class probabilities. It
contains the preprocessor; `assets.extra/tf_serving.json` lists the custom ops
(tensorflow-text) that the TF Serving binary must link in, and the label names.
"""
