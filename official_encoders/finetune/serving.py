"""Writes the fine-tuned model as a text-in SavedModel for TF Serving."""

import json
import os

from official_encoders.finetune.params import TEXT_INPUT_NAMES


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


def export_text_classifier(model, preprocessor, num_segments, label_names, export_dir):
    """Writes a SavedModel: serving_default(raw strings) -> {"probabilities": [batch, classes]}."""
    import keras
    import tensorflow as tf

    names = TEXT_INPUT_NAMES[num_segments]

    def probabilities(*texts):
        logits = model(preprocessor(list(texts)), training=False)
        return {"probabilities": tf.nn.softmax(logits, axis=-1)}

    if num_segments == 1:
        def serve(sentence):
            return probabilities(sentence)
    else:
        def serve(sentence1, sentence2):
            return probabilities(sentence1, sentence2)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(preprocessor.module)
    archive.add_endpoint("serving_default", serve,
                         input_signature=[tf.TensorSpec([None], tf.string, name=n) for n in names])
    archive.write_out(export_dir, verbose=False)
    ops = custom_ops(export_dir)
    extra = os.path.join(export_dir, "assets.extra")
    os.makedirs(extra, exist_ok=True)
    with open(os.path.join(extra, "tf_serving.json"), "w") as f:
        json.dump({
            "signature": "serving_default",
            "inputs": list(names),
            "outputs": {"probabilities": "float32 [batch, num_classes]"},
            "labels": list(label_names),
            "custom_ops": ops,
            "required_op_libraries": ["tensorflow_text"] if ops else [],
            "note": ("TF Serving must be built with the tensorflow-text ops linked in "
                     "(e.g. the tensorflow/serving image with tensorflow-text custom ops) "
                     "to load this model." if ops else "Uses core TensorFlow ops only."),
        }, f, indent=2)
    return ops
