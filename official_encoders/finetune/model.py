"""The encoder of a run: from a hub handle (ours natively, foreign through HubLayer) or a checkpoint.

Our exports (a MANIFEST.json with the encoder config) and every checkpoint give our
Keras encoder, so every task model works and `final/` can be written. A foreign
SavedModel is used through `HubLayer`, for sentence prediction only.
"""

import dataclasses
from typing import Any, List, Optional

import keras
import tensorflow as tf

from official_encoders.checkpoints.task_import import FRESH_HEAD
from official_encoders.checkpoints.sources import (detect_checkpoint_kind, is_source_spec, load_source,
                                                   read_config_file)
from official_encoders.hub.hub_layer import HubLayer
from official_encoders.hub.native import load_native_encoder, saved_model_vocabulary
from official_encoders.layers.classification_head import ClassificationHead
from official_encoders.models import build_encoder
from official_encoders.tasks import HEAD_NAME, TASK_CLASSES
from preprocessors.packing import INPUT_KEYS


def checkpoint_spec(init_checkpoint):
    """`--init_checkpoint` as a source spec (`tf1:`, `tf2:`, ...) when a checkpoint prefix's keys show its
    layout; a `.weights.h5` file or a tf.train.Checkpoint with the encoder as `encoder` stays as given."""
    if is_source_spec(init_checkpoint) or init_checkpoint.endswith(".weights.h5"):
        return init_checkpoint
    try:
        kind = detect_checkpoint_kind(init_checkpoint)
    except ValueError as error:
        raise ValueError(f"--init_checkpoint: {error}") from None
    return init_checkpoint if kind == "encoder" else f"{kind}:{init_checkpoint}"


def build_encoder_from_checkpoint(params):
    """Our Keras 3 encoder with the weights of --init_checkpoint; returns (encoder, vocabulary).

    Accepts a source spec (`tf1:`, `tf2:`, `hf:`, `preset:`), a checkpoint prefix of
    any of those layouts (detected by its keys), a Keras weights file (`*.weights.h5`)
    or a tf.train.Checkpoint whose root has the encoder as `encoder`. Every encoder
    variable must be restored: a checkpoint holding only some of them is refused
    rather than leaving random weights. `vocabulary` is (vocab_file, sp_model_file,
    do_lower_case) when the source knows it.
    """
    spec = checkpoint_spec(params.init_checkpoint)
    if is_source_spec(spec):
        result = load_source(spec, params.config_file)
        return result.encoder, (result.vocab_file, result.sp_model_file, result.do_lower_case)

    if not params.config_file:
        raise ValueError(f"--init_checkpoint={spec} needs --config_file (the encoder's config JSON).")
    encoder = build_encoder(read_config_file(params.config_file))
    encoder({name: tf.zeros([1, 4], tf.int32) for name in INPUT_KEYS})
    if spec.endswith(".weights.h5"):
        encoder.load_weights(spec)
        return encoder, (None, None, None)
    status = tf.train.Checkpoint(encoder=encoder).read(spec)
    held = [name for name, _ in tf.train.list_variables(spec)
            if name.startswith("encoder/") and name.endswith("/.ATTRIBUTES/VARIABLE_VALUE")]
    try:
        status.assert_existing_objects_matched()
        if len(held) != len(encoder.weights):
            raise AssertionError(f"it holds {len(held)} of the encoder's {len(encoder.weights)} "
                                 "variables")
    except AssertionError as error:
        raise ValueError(f"--init_checkpoint={spec} does not hold every variable of the encoder "
                         f"under 'encoder/': {error}. Write it with official_encoders.checkpoints.tf2.save_tf2 "
                         "or encoder.save_weights('<name>.weights.h5').") from None
    return encoder, (None, None, None)


@dataclasses.dataclass
class RunEncoder:
    """The encoder of a run and what came with it.

    `encoder` is our Keras encoder, or a `HubLayer` for a foreign SavedModel (`native`
    False: no config, so no `final/`; `final_note` says why). `task_model` is a task model
    whose head came with the checkpoint (kept because its labels match), with
    `label_names` in the head's order; otherwise both are None.
    """

    encoder: Any
    native: bool
    config: Any = None
    vocab_file: Optional[str] = None
    sp_model_file: Optional[str] = None
    do_lower_case: Optional[bool] = None
    identity: Any = None
    task_model: Any = None
    label_names: Optional[List[str]] = None
    notes: List[str] = dataclasses.field(default_factory=list)
    final_note: Optional[str] = None


def build_run_encoder(params, model_task=None, label_names=None):
    """The `RunEncoder` of `params`: `--hub_module_url` or `--init_checkpoint` (call in the strategy scope).

    Args:
      params: the run's `FinetuneParams`.
      model_task: the task model's task (`FinetuneTask.model_task`); with a source checkpoint
        that holds a head of this task, the head is kept when its labels match.
      label_names: the run's label names (None for heads of fixed size and regression).
    """
    if params.hub_module_url:
        native = load_native_encoder(params.hub_module_url)
        if native is not None:
            return RunEncoder(native.encoder, True, native.config, native.vocab_file, native.sp_model_file,
                              native.do_lower_case, notes=[f"{params.hub_module_url}: our export, rebuilt as "
                                                           f"a Keras {native.config.family} encoder"])
        layer = HubLayer(params.hub_module_url, trainable=True, name="encoder")
        vocab = saved_model_vocabulary(layer.resolved_object)
        return RunEncoder(layer, False, None, *vocab, final_note=(
            f"final/ not written: {params.hub_module_url} is not one of our exports (no encoder config in a "
            "MANIFEST.json), so its weights cannot be saved as one of our checkpoints; the serving "
            "SavedModel in export/ holds the fine-tuned model."))
    spec = checkpoint_spec(params.init_checkpoint)
    if not is_source_spec(spec):
        encoder, _ = build_encoder_from_checkpoint(params)
        return RunEncoder(encoder, True, encoder.config)
    return _from_source(spec, params.config_file, model_task, label_names)


def _from_source(spec, config_file, model_task, label_names):
    """An imported source, keeping its `model_task` head when its labels match the run's."""
    fixed = TASK_CLASSES[model_task].fixed_num_labels if model_task else None
    num_labels = fixed or (len(label_names) if label_names else 1)
    try:
        result = load_source(spec, config_file, task=model_task, num_labels=num_labels)
    except ValueError as error:
        if "labels, not num_labels" not in str(error):
            raise
        result = load_source(spec, config_file)  # a head of another size: the encoder alone
        notes = [f"{spec}: its {model_task} head has other labels; a new head is trained"]
        return RunEncoder(result.encoder, True, result.config, result.vocab_file, result.sp_model_file,
                          result.do_lower_case, result.identity, notes=notes)
    run = RunEncoder(result.encoder, True, result.config, result.vocab_file, result.sp_model_file,
                     result.do_lower_case, result.identity)
    task_model = result.task_model
    fresh = task_model is not None and any(source == FRESH_HEAD for source, _ in result.report.missing)
    if task_model is None or fresh:
        return run
    if label_names is None:
        run.task_model = task_model
        run.notes.append(f"{spec}: its {model_task} head is kept")
        return run
    held = [task_model.id2label[i] for i in range(task_model.num_labels)] if task_model.id2label else None
    if held is not None and sorted(held) == sorted(label_names):
        run.task_model, run.label_names = task_model, held
        run.notes.append(f"{spec}: its {model_task} head is kept (labels {held})")
    else:
        run.notes.append(f"{spec}: its {model_task} head has labels {held}, not {list(label_names)}; "
                         "a new head is trained")
    return run


def hub_layer_classifier(layer, num_labels, dropout):
    """A foreign hub encoder's sequence classifier: `pooled_output` -> the task models' head.

    Returns a Keras model: encoder inputs -> {"logits": [B, num_labels]} (the call contract of
    `official_encoders.tasks.SequenceClassifier`), with `.encoder` the layer.
    """
    inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in INPUT_KEYS}
    pooled = layer(inputs)["pooled_output"]
    head = ClassificationHead(pooled.shape[-1], num_labels, dropout=dropout, name=HEAD_NAME)
    model = keras.Model(inputs, {"logits": head(pooled)}, name="hub_classifier")
    model.encoder = layer
    return model
