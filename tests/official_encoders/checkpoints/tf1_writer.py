"""Test helper: write a Hugging Face model's weights as an original google-research TF1 checkpoint.

The HF -> google-research name mapping here is written independently of
export/sources/tf1.py (which maps google-research -> our variables), so a
mistake in either shows up as a parity failure.
"""

import re

import numpy as np
import tensorflow as tf

# (HF name pattern, google-research name template). First match wins.
_RENAMES = {
    "bert": [
        (r"bert\.embeddings\.(word|position|token_type)_embeddings\.weight", r"bert/embeddings/\1_embeddings"),
        (r"bert\.embeddings\.LayerNorm\.(weight|bias)", r"bert/embeddings/LayerNorm/\1"),
        (r"bert\.encoder\.layer\.(\d+)\.(.*)", r"bert/encoder/layer_\1/\2"),
        (r"bert\.pooler\.dense\.(.*)", r"bert/pooler/dense/\1"),
        (r"cls\.predictions\.transform\.(.*)", r"cls/predictions/transform/\1"),
        (r"cls\.predictions\.bias", r"cls/predictions/output_bias"),
        (r"cls\.seq_relationship\.weight", r"cls/seq_relationship/output_weights"),
        (r"cls\.seq_relationship\.bias", r"cls/seq_relationship/output_bias"),
    ],
    "albert": [
        (r"albert\.embeddings\.(word|position|token_type)_embeddings\.weight", r"bert/embeddings/\1_embeddings"),
        (r"albert\.embeddings\.LayerNorm\.(weight|bias)", r"bert/embeddings/LayerNorm/\1"),
        (r"albert\.encoder\.embedding_hidden_mapping_in\.(.*)", r"bert/encoder/embedding_hidden_mapping_in/\1"),
        (r"albert\.encoder\.albert_layer_groups\.0\.albert_layers\.0\.attention\.(query|key|value)\.(.*)",
         r"bert/encoder/transformer/group_0/inner_group_0/attention_1/self/\1/\2"),
        (r"albert\.encoder\.albert_layer_groups\.0\.albert_layers\.0\.attention\.dense\.(.*)",
         r"bert/encoder/transformer/group_0/inner_group_0/attention_1/output/dense/\1"),
        (r"albert\.encoder\.albert_layer_groups\.0\.albert_layers\.0\.attention\.LayerNorm\.(.*)",
         r"bert/encoder/transformer/group_0/inner_group_0/LayerNorm/\1"),
        (r"albert\.encoder\.albert_layer_groups\.0\.albert_layers\.0\.ffn\.(.*)",
         r"bert/encoder/transformer/group_0/inner_group_0/ffn_1/intermediate/dense/\1"),
        (r"albert\.encoder\.albert_layer_groups\.0\.albert_layers\.0\.ffn_output\.(.*)",
         r"bert/encoder/transformer/group_0/inner_group_0/ffn_1/intermediate/output/dense/\1"),
        (r"albert\.encoder\.albert_layer_groups\.0\.albert_layers\.0\.full_layer_layer_norm\.(.*)",
         r"bert/encoder/transformer/group_0/inner_group_0/LayerNorm_1/\1"),
        (r"albert\.pooler\.(.*)", r"bert/pooler/dense/\1"),
        (r"predictions\.dense\.(.*)", r"cls/predictions/transform/dense/\1"),
        (r"predictions\.LayerNorm\.(.*)", r"cls/predictions/transform/LayerNorm/\1"),
        (r"predictions\.bias", r"cls/predictions/output_bias"),
    ],
    "electra": [
        (r"electra\.embeddings\.(word|position|token_type)_embeddings\.weight", r"electra/embeddings/\1_embeddings"),
        (r"electra\.embeddings\.LayerNorm\.(weight|bias)", r"electra/embeddings/LayerNorm/\1"),
        (r"electra\.embeddings_project\.(.*)", r"electra/embeddings_project/\1"),
        (r"electra\.encoder\.layer\.(\d+)\.(.*)", r"electra/encoder/layer_\1/\2"),
        (r"discriminator_predictions\.dense\.(.*)", r"discriminator_predictions/dense/\1"),
        (r"discriminator_predictions\.dense_prediction\.(.*)", r"discriminator_predictions/dense_1/\1"),
    ],
    # The generator of a pretraining run: its own encoder under generator/, embeddings shared under electra/.
    "electra_generator": [
        (r"electra\.embeddings\.(word|position|token_type)_embeddings\.weight", r"electra/embeddings/\1_embeddings"),
        (r"electra\.embeddings\.LayerNorm\.(weight|bias)", r"electra/embeddings/LayerNorm/\1"),
        (r"electra\.embeddings_project\.(.*)", r"generator/embeddings_project/\1"),
        (r"electra\.encoder\.layer\.(\d+)\.(.*)", r"generator/encoder/layer_\1/\2"),
        (r"generator_predictions\.(dense|LayerNorm)\.(.*)", r"generator_predictions/\1/\2"),
        (r"generator_lm_head\.bias", r"generator_predictions/output_bias"),
    ],
}
# Weights that HF keeps twice (tied to the word embeddings) or that google-research never had.
_DROP = re.compile(r".*(decoder\.(weight|bias)|generator_lm_head\.weight|position_ids|token_type_ids)$")


def _leaf(name, value):
    """HF leaf naming -> google-research leaf naming, with torch Linear weights transposed."""
    name = name.replace(".", "/")
    if "LayerNorm" in name or "layer_norm" in name.lower():
        return re.sub(r"/weight$", "/gamma", re.sub(r"/bias$", "/beta", name)), value
    if name.endswith("/weight") and not name.endswith("seq_relationship/output_weights"):
        return name[: -len("/weight")] + "/kernel", value.T
    return name, value


def google_research_weights(hf_model, family):
    """{google-research variable name: numpy array} for a transformers model."""
    out = {}
    for hf_name, tensor in hf_model.state_dict().items():
        if _DROP.match(hf_name):
            continue
        value = tensor.detach().cpu().numpy().astype(np.float32)
        for pattern, template in _RENAMES[family]:
            if re.fullmatch(pattern, hf_name):
                name = re.sub(pattern, template, hf_name)
                break
        else:
            raise AssertionError(f"test helper has no google-research name for {hf_name}")
        if name.endswith(("_embeddings", "output_weights", "output_bias")):
            out[name] = value
        else:
            name, value = _leaf(name, value)
            out[name] = value
    return out


def write_tf1_checkpoint(weights, prefix, with_optimizer_slots=True):
    """Write `weights` with tf.compat.v1.train.Saver, as the original pretraining scripts did.

    Adds Adam slots and global_step like a real pretraining checkpoint, which importers must skip.
    Returns the checkpoint prefix.
    """
    graph = tf.Graph()
    with graph.as_default():
        variables = []
        for name, value in weights.items():
            variables.append(tf.compat.v1.Variable(value, name=name))
            if with_optimizer_slots:
                variables.append(tf.compat.v1.Variable(np.zeros_like(value), name=name + "/adam_m"))
                variables.append(tf.compat.v1.Variable(np.zeros_like(value), name=name + "/adam_v"))
        if with_optimizer_slots:
            variables.append(tf.compat.v1.Variable(np.int64(1000), name="global_step"))
        saver = tf.compat.v1.train.Saver(variables)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            return saver.save(session, prefix, write_meta_graph=False)
