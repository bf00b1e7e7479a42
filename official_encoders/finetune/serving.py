"""Writes the fine-tuned model as a text-in SavedModel for TF Serving."""

import json
import os

from official_encoders.finetune.params import TEXT_INPUT_NAMES
from official_encoders.serving.sequence_classification import SequenceClassificationServing


def custom_ops(saved_model_dir):
    """Op types in the SavedModel that core TensorFlow does not define (e.g. tensorflow-text's)."""
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(saved_model_dir, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    ops = set()
    for meta_graph in proto.meta_graphs:
        ops.update(node.op for node in meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            ops.update(node.op for node in function.node_def)
    return sorted(op for op in ops if not hasattr(tf.raw_ops, op))


class _PreprocessorPacker:
    """The run's TF-Hub preprocessor in the shape official_encoders.serving packers have."""

    type_vocab_size = 2  # the preprocessor packs segment types itself

    def __init__(self, preprocessor):
        self._module = preprocessor.module
        self._seq_length = preprocessor.seq_length

    def tokenize(self, strings):
        return self._module.tokenize(strings)

    def pack(self, segments):
        return self._module.bert_pack_inputs(segments, seq_length=self._seq_length)


def export_text_classifier(model, preprocessor, num_segments, label_names, export_dir):
    """Writes a SavedModel: serving_default(raw strings) -> probabilities [batch, classes], label, score.

    The graph is official_encoders.serving's SequenceClassificationServing (the task
    exports' too), over the run's preprocessor, with this CLI's input names
    (`sentence`, or `sentence1` and `sentence2`).
    """
    import keras

    names = TEXT_INPUT_NAMES[num_segments]
    serving = SequenceClassificationServing(
        lambda inputs, training=False: {"logits": model(inputs, training=training)},
        _PreprocessorPacker(preprocessor), label_names, text_pairs=num_segments == 2, input_names=names)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(preprocessor.module)
    archive.add_endpoint("serving_default", serving.serving_function())
    archive.write_out(export_dir, verbose=False)
    ops = custom_ops(export_dir)
    extra = os.path.join(export_dir, "assets.extra")
    os.makedirs(extra, exist_ok=True)
    with open(os.path.join(extra, "tf_serving.json"), "w") as f:
        json.dump({
            "signature": "serving_default",
            "inputs": list(names),
            "outputs": {"probabilities": "float32 [batch, num_classes]", "label": "string [batch]",
                        "score": "float32 [batch]"},
            "labels": list(label_names),
            "custom_ops": ops,
            "required_op_libraries": ["tensorflow_text"] if ops else [],
            "note": ("TF Serving must be built with the tensorflow-text ops linked in "
                     "(e.g. the tensorflow/serving image with tensorflow-text custom ops) "
                     "to load this model." if ops else "Uses core TensorFlow ops only."),
        }, f, indent=2)
    return ops
