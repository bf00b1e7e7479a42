"""The outputs of a finished run: `export/` (the text-in serving SavedModel) and `final/` (our tf2 format)."""

import os
import shutil

from official_encoders.serving.text_serving import write_tf_serving_json

FINAL = "final"
EXPORT = "export"


def _describe(spec):
    shape = ", ".join("B" if i == 0 else ("?" if d is None else str(d)) for i, d in enumerate(spec.shape))
    return f"{spec.dtype.name} [{shape}]"


def export_serving(serving, model, export_dir, labels=(), **notes):
    """Writes `serving` (a task's `serving_module`) as a SavedModel whose `serving_default` takes raw strings.

    Args:
      serving: a tf.Module with `serving_function()` and `input_names`; it must reach the
        model only through a closure (the model's variables are tracked here).
      model: the Keras task model it serves.
      export_dir: the SavedModel directory (replaced if it exists).
      labels: label names for `assets.extra/tf_serving.json`.
      **notes: more entries for tf_serving.json (the task's settings).

    Returns the custom ops (tensorflow-text) a TF Serving binary must link in.
    """
    import keras

    function = serving.serving_function()
    outputs = function.get_concrete_function().structured_outputs
    if os.path.isdir(export_dir):
        shutil.rmtree(export_dir)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(serving)
    archive.add_endpoint("serving_default", function)
    archive.write_out(export_dir, verbose=False)
    written = write_tf_serving_json(export_dir, list(serving.input_names),
                                    {name: _describe(spec) for name, spec in outputs.items()},
                                    labels=list(labels or ()), **notes)
    return written["custom_ops"]


def write_final(run_encoder, model, text, settings, final_dir):
    """Writes the fine-tuned task model in our tf2 format (`checkpoints.tf2.save_pretrained`) with its
    labels, the vocabulary and the task's `settings`, so that
    `python -m export --source=tf2:<final_dir> --export_type=<model task>` publishes it to serve as the
    run evaluated. Replaces an older `final_dir`."""
    from official_encoders.checkpoints.report import ImportReport, ImportResult
    from official_encoders.checkpoints.tf2 import save_pretrained

    result = ImportResult(config=run_encoder.config, model=run_encoder.encoder, encoder=run_encoder.encoder,
                          report=ImportReport(), vocab_file=text.vocab_file, sp_model_file=text.sp_model_file,
                          do_lower_case=text.do_lower_case, task_model=model, identity=run_encoder.identity)
    if os.path.isdir(final_dir):
        shutil.rmtree(final_dir)
    return save_pretrained(result, final_dir, task_settings=settings)
