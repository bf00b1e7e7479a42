"""What every text-in serving SavedModel shares: its custom ops and its TF Serving notes.

A SavedModel that tokenizes in the graph uses tensorflow-text ops, which a TF Serving
binary must link in. `write_tf_serving_json` records that, with the signature's
inputs, outputs and labels, in `assets.extra/tf_serving.json` (TF Serving ignores
assets.extra; people and tools read it).
"""

import json
import os

TF_SERVING_JSON = os.path.join("assets.extra", "tf_serving.json")


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


def write_tf_serving_json(saved_model_dir, inputs, outputs, labels=(), **extra):
    """Writes assets.extra/tf_serving.json for the SavedModel at `saved_model_dir`; returns its dict.

    Args:
      saved_model_dir: a written SavedModel directory.
      inputs: the serving_default input names, in order.
      outputs: {output name: "dtype [shape]" description}.
      labels: the label names, if the task has any.
      **extra: more entries (e.g. the task's settings).

    Example:

        write_tf_serving_json(export_dir, ["sentence"], {"probabilities": "float32 [batch, 2]"},
                              labels=["negative", "positive"])
    """
    ops = custom_ops(saved_model_dir)
    notes = {
        "signature": "serving_default",
        "inputs": list(inputs),
        "outputs": dict(outputs),
        "labels": list(labels),
        "custom_ops": ops,
        "required_op_libraries": ["tensorflow_text"] if ops else [],
        "note": ("TF Serving must be built with the tensorflow-text ops linked in "
                 "(e.g. the tensorflow/serving image with tensorflow-text custom ops) "
                 "to load this model." if ops else "Uses core TensorFlow ops only."),
        **extra,
    }
    path = os.path.join(saved_model_dir, TF_SERVING_JSON)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(notes, f, indent=2)
    return notes
