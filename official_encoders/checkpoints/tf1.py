"""Original google-research TF1 checkpoints (BERT, ALBERT, ELECTRA), read by their variable names.

The family comes from the checkpoint's variable scopes (`bert/encoder/layer_N`,
`bert/encoder/transformer/group_0`, `electra/encoder` or `generator/encoder`),
the architecture from bert_config.json / albert_config.json. Optimizer slots
(`adam_m`, `adam_v`, `global_step`, ...) are skipped; the pretraining heads
that our models have no place for (next-sentence / sentence-order) are
reported as unused.
"""

import os
import re

import tensorflow as tf

from official_encoders.checkpoints.checkpoint_file import CheckpointReader, data_files
from official_encoders.checkpoints.mapping import Row, assign, expand
from official_encoders.checkpoints.report import ImportResult
from official_encoders.checkpoints.task_import import (Variables, check_source_num_labels, choose_task,
                                                       optional_targets, report_fresh_head)
from official_encoders.models import EncoderWithMaskedLM, EncoderWithRtd, build_encoder
from official_encoders.models.configs import EncoderConfig
from official_encoders.tasks import HEAD_NAME, NEXT_SENTENCE_PREDICTION, build_task_model

# The standard post-LN block as google-research modeling.py names it (BERT and ELECTRA), per layer {i}.
_BLOCK = [
    Row("encoder/layer_{i}/attention/self/query/kernel", "transformer/layer_{i}/self_attention/query/kernel"),
    Row("encoder/layer_{i}/attention/self/query/bias", "transformer/layer_{i}/self_attention/query/bias"),
    Row("encoder/layer_{i}/attention/self/key/kernel", "transformer/layer_{i}/self_attention/key/kernel"),
    Row("encoder/layer_{i}/attention/self/key/bias", "transformer/layer_{i}/self_attention/key/bias"),
    Row("encoder/layer_{i}/attention/self/value/kernel", "transformer/layer_{i}/self_attention/value/kernel"),
    Row("encoder/layer_{i}/attention/self/value/bias", "transformer/layer_{i}/self_attention/value/bias"),
    Row("encoder/layer_{i}/attention/output/dense/kernel",
        "transformer/layer_{i}/self_attention/attention_output/kernel"),
    Row("encoder/layer_{i}/attention/output/dense/bias", "transformer/layer_{i}/self_attention/attention_output/bias"),
    Row("encoder/layer_{i}/attention/output/LayerNorm/gamma", "transformer/layer_{i}/self_attention_layer_norm/gamma"),
    Row("encoder/layer_{i}/attention/output/LayerNorm/beta", "transformer/layer_{i}/self_attention_layer_norm/beta"),
    Row("encoder/layer_{i}/intermediate/dense/kernel", "transformer/layer_{i}/feedforward/intermediate/kernel"),
    Row("encoder/layer_{i}/intermediate/dense/bias", "transformer/layer_{i}/feedforward/intermediate/bias"),
    Row("encoder/layer_{i}/output/dense/kernel", "transformer/layer_{i}/feedforward/output/kernel"),
    Row("encoder/layer_{i}/output/dense/bias", "transformer/layer_{i}/feedforward/output/bias"),
    Row("encoder/layer_{i}/output/LayerNorm/gamma", "transformer/layer_{i}/output_layer_norm/gamma"),
    Row("encoder/layer_{i}/output/LayerNorm/beta", "transformer/layer_{i}/output_layer_norm/beta"),
]

# Embeddings under the model scope (bert/ or electra/).
_EMBEDDINGS = [
    Row("embeddings/word_embeddings", "word_embeddings/embeddings"),
    Row("embeddings/position_embeddings", "position_embedding/embeddings"),
    Row("embeddings/token_type_embeddings", "type_embeddings/embeddings"),
    Row("embeddings/LayerNorm/gamma", "embeddings/layer_norm/gamma"),
    Row("embeddings/LayerNorm/beta", "embeddings/layer_norm/beta"),
]

_POOLER = [
    Row("pooler/dense/kernel", "pooler_transform/kernel"),
    Row("pooler/dense/bias", "pooler_transform/bias"),
]

# The masked-LM head; a leading "/" means the name has no model scope.
_MLM_HEAD = [
    Row("/cls/predictions/transform/dense/kernel", "masked_lm/transform/kernel"),
    Row("/cls/predictions/transform/dense/bias", "masked_lm/transform/bias"),
    Row("/cls/predictions/transform/LayerNorm/gamma", "masked_lm/layer_norm/gamma"),
    Row("/cls/predictions/transform/LayerNorm/beta", "masked_lm/layer_norm/beta"),
    Row("/cls/predictions/output_bias", "masked_lm/output_bias"),
]

BERT_TABLE = _EMBEDDINGS + _BLOCK + _POOLER + _MLM_HEAD

# ALBERT: one shared block, named group_0/inner_group_0 in the checkpoint.
_ALBERT_BLOCK = "encoder/transformer/group_0/inner_group_0/"
ALBERT_TABLE = _EMBEDDINGS + [
    Row("encoder/embedding_hidden_mapping_in/kernel", "embedding_projection/kernel"),
    Row("encoder/embedding_hidden_mapping_in/bias", "embedding_projection/bias"),
    Row(_ALBERT_BLOCK + "attention_1/self/query/kernel", "transformer/shared_layer/self_attention/query/kernel"),
    Row(_ALBERT_BLOCK + "attention_1/self/query/bias", "transformer/shared_layer/self_attention/query/bias"),
    Row(_ALBERT_BLOCK + "attention_1/self/key/kernel", "transformer/shared_layer/self_attention/key/kernel"),
    Row(_ALBERT_BLOCK + "attention_1/self/key/bias", "transformer/shared_layer/self_attention/key/bias"),
    Row(_ALBERT_BLOCK + "attention_1/self/value/kernel", "transformer/shared_layer/self_attention/value/kernel"),
    Row(_ALBERT_BLOCK + "attention_1/self/value/bias", "transformer/shared_layer/self_attention/value/bias"),
    Row(_ALBERT_BLOCK + "attention_1/output/dense/kernel",
        "transformer/shared_layer/self_attention/attention_output/kernel"),
    Row(_ALBERT_BLOCK + "attention_1/output/dense/bias",
        "transformer/shared_layer/self_attention/attention_output/bias"),
    Row(_ALBERT_BLOCK + "LayerNorm/gamma", "transformer/shared_layer/self_attention_layer_norm/gamma"),
    Row(_ALBERT_BLOCK + "LayerNorm/beta", "transformer/shared_layer/self_attention_layer_norm/beta"),
    Row(_ALBERT_BLOCK + "ffn_1/intermediate/dense/kernel", "transformer/shared_layer/feedforward/intermediate/kernel"),
    Row(_ALBERT_BLOCK + "ffn_1/intermediate/dense/bias", "transformer/shared_layer/feedforward/intermediate/bias"),
    Row(_ALBERT_BLOCK + "ffn_1/intermediate/output/dense/kernel",
        "transformer/shared_layer/feedforward/output/kernel"),
    Row(_ALBERT_BLOCK + "ffn_1/intermediate/output/dense/bias", "transformer/shared_layer/feedforward/output/bias"),
    Row(_ALBERT_BLOCK + "LayerNorm_1/gamma", "transformer/shared_layer/output_layer_norm/gamma"),
    Row(_ALBERT_BLOCK + "LayerNorm_1/beta", "transformer/shared_layer/output_layer_norm/beta"),
] + _POOLER + _MLM_HEAD

# ELECTRA discriminator: BERT names under electra/, a projection, and the RTD head. No pooler.
ELECTRA_TABLE = _EMBEDDINGS + [
    Row("embeddings_project/kernel", "embedding_projection/kernel"),
    Row("embeddings_project/bias", "embedding_projection/bias"),
] + _BLOCK + [
    Row("/discriminator_predictions/dense/kernel", "rtd/dense/kernel"),
    Row("/discriminator_predictions/dense/bias", "rtd/dense/bias"),
    Row("/discriminator_predictions/dense_1/kernel", "rtd/prediction/kernel"),
    Row("/discriminator_predictions/dense_1/bias", "rtd/prediction/bias"),
]

# ELECTRA generator: its own encoder under generator/, embeddings shared with the discriminator (electra/).
ELECTRA_GENERATOR_TABLE = [Row("/electra/" + r.source, r.target) for r in _EMBEDDINGS] + [
    Row("embeddings_project/kernel", "embedding_projection/kernel"),
    Row("embeddings_project/bias", "embedding_projection/bias"),
] + _BLOCK + [
    Row("/generator_predictions/dense/kernel", "masked_lm/transform/kernel"),
    Row("/generator_predictions/dense/bias", "masked_lm/transform/bias"),
    Row("/generator_predictions/LayerNorm/gamma", "masked_lm/layer_norm/gamma"),
    Row("/generator_predictions/LayerNorm/beta", "masked_lm/layer_norm/beta"),
    Row("/generator_predictions/output_bias", "masked_lm/output_bias"),
]

# (family, task) -> (tensor whose presence means the checkpoint holds the head, head rows). BERT's
# pretraining checkpoints keep the next-sentence classifier as output_weights [2, H].
TASK_HEAD_TABLES = {
    ("bert", NEXT_SENTENCE_PREDICTION): ("cls/seq_relationship/output_weights", [
        Row("/cls/seq_relationship/output_weights", f"{HEAD_NAME}/output/kernel", "transpose"),
        Row("/cls/seq_relationship/output_bias", f"{HEAD_NAME}/output/bias"),
    ]),
}

# kind: (family, scope, table, head present when this source name is in the checkpoint, head wrapper)
KINDS = {
    "bert": ("bert", "bert/", BERT_TABLE, "cls/predictions/output_bias", EncoderWithMaskedLM),
    "albert": ("albert", "bert/", ALBERT_TABLE, "cls/predictions/output_bias", EncoderWithMaskedLM),
    "electra": ("electra", "electra/", ELECTRA_TABLE, "discriminator_predictions/dense_1/kernel", EncoderWithRtd),
    "electra_generator": ("electra", "generator/", ELECTRA_GENERATOR_TABLE, "generator_predictions/output_bias",
                          EncoderWithMaskedLM),
}

# Training state in pretraining checkpoints, never weights.
_OPTIMIZER_STATE = re.compile(
    r"(^|/)(adam_m|adam_v|Adam|Adam_1|Momentum|LAMB|lamb_m|lamb_v)$|^global_step$|^(beta1|beta2)_power$"
    r"|^good_steps$|^current_loss_scale$|^loss_scale")


def is_optimizer_state(name):
    return bool(_OPTIMIZER_STATE.search(name))


def detect_kind(names, prefer_generator=False):
    """Which model a checkpoint holds, from its variable scopes."""
    names = set(names)
    if "bert/encoder/transformer/group_0/inner_group_0/attention_1/self/query/kernel" in names:
        return "albert"
    has_discriminator = "electra/encoder/layer_0/attention/self/query/kernel" in names
    has_generator = "generator/encoder/layer_0/attention/self/query/kernel" in names
    if has_generator and (prefer_generator or not has_discriminator):
        return "electra_generator"
    if has_discriminator:
        return "electra"
    if "bert/encoder/layer_0/attention/self/query/kernel" in names:
        return "bert"
    scopes = sorted({n.split("/")[0] for n in names})
    raise ValueError(
        f"not a google-research BERT, ALBERT or ELECTRA checkpoint: found no "
        f"bert/encoder/layer_0, bert/encoder/transformer/group_0, electra/encoder or generator/encoder "
        f"variables; top-level scopes are {scopes}")


def checkpoint_prefix(path):
    """The checkpoint prefix for a prefix or a directory (its newest checkpoint)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        latest = tf.train.latest_checkpoint(path)
        if latest:
            return latest
        indexes = sorted(f[: -len(".index")] for f in os.listdir(path) if f.endswith(".index"))
        if not indexes:
            raise FileNotFoundError(f"no TF checkpoint (*.index) in directory {path}")

        def step(prefix):
            found = re.search(r"-(\d+)$", prefix)
            return int(found.group(1)) if found else -1

        return os.path.join(path, max(indexes, key=step))
    if not os.path.exists(path + ".index"):
        raise FileNotFoundError(f"no TF checkpoint at prefix {path} ({path}.index does not exist)")
    return path


def _config_for(config_file, family, reader_shapes, scope):
    if config_file is None:
        raise ValueError("a TF1 checkpoint needs its config: pass config_file=<bert_config.json or "
                         "albert_config.json> (export CLI: --config_file)")
    config = EncoderConfig.from_bert_config_json(config_file, family=family)
    # ELECTRA configs often leave embedding_size out; the table itself says how wide it is.
    word_shape = reader_shapes.get(scope + "embeddings/word_embeddings") or reader_shapes.get(
        "electra/embeddings/word_embeddings")
    if word_shape is not None and word_shape[1] != config.resolved_embedding_size:
        if family == "bert":
            raise ValueError(
                f"{config_file}: hidden/embedding size {config.resolved_embedding_size} does not match the "
                f"checkpoint's {scope}embeddings/word_embeddings of shape {word_shape}")
        config = config.replace(embedding_size=int(word_shape[1]))
    if family == "electra" and config.embedding_size == config.hidden_size:
        config = config.replace(embedding_size=None)
    return config.validate()


def _sibling_files(prefix):
    directory = os.path.dirname(prefix)
    found = {}
    for name, key in (("vocab.txt", "vocab_file"), ("30k-clean.model", "sp_model_file"),
                      ("spiece.model", "sp_model_file")):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            found.setdefault(key, path)
    return found


def load_tf1(ckpt_prefix, config_file, allow_missing=(), electra_generator=False, task=None, num_labels=None,
             id2label=None):
    """Import a google-research checkpoint; returns an ImportResult.

    `ckpt_prefix` may be a prefix (".../bert_model.ckpt") or a directory. The
    model has the pretraining head when the checkpoint has one (MLM for BERT and
    ALBERT, replaced-token detection for ELECTRA). `electra_generator=True`
    imports the generator of a combined ELECTRA pretraining checkpoint instead.
    Raises ValueError naming any missing tensor (unless allowed by source name
    or target path) or any shape mismatch. `task`, `num_labels` and `id2label`
    choose a task model as for every source; BERT pretraining checkpoints hold
    the next-sentence-prediction head, other tasks start a fresh head.
    """
    prefix = checkpoint_prefix(ckpt_prefix)
    what = f"TF1 checkpoint {prefix}"
    reader = CheckpointReader(prefix, what=what)
    shapes = {n: s for n, s in reader.get_variable_to_shape_map().items() if not is_optimizer_state(n)}
    kind = detect_kind(shapes, prefer_generator=electra_generator)
    family, scope, table, head_marker, wrapper = KINDS[kind]
    config = _config_for(config_file, family, shapes, scope)
    encoder = build_encoder(config)
    model = wrapper(encoder) if head_marker in shapes else encoder
    source_task = next((t for (f, t), (marker, _) in TASK_HEAD_TABLES.items() if f == family and marker in shapes),
                       None)
    chosen, fresh = choose_task(task, source_task, what, num_labels, id2label)
    rows = list(table)
    task_model = None
    if chosen is not None and not fresh:
        marker, head_rows = TASK_HEAD_TABLES[(family, chosen)]
        check_source_num_labels(chosen, num_labels, shapes[marker][0], what)
        task_model = build_task_model(chosen, encoder, id2label=id2label)
        rows += head_rows
    allowed = tuple(allow_missing) + optional_targets(encoder, source_task)
    report = assign(Variables(model, task_model), expand(rows, config.num_layers, source_prefix=scope), shapes,
                    reader.get_tensor, allow_missing=allowed, what=what)
    if fresh:
        task_model = build_task_model(chosen, encoder, num_labels=num_labels, id2label=id2label)
        report_fresh_head(report, task_model)
    files = [prefix + ".index"] + data_files(prefix)
    if config_file is not None and not isinstance(config_file, dict):
        files.append(os.fspath(config_file))
    extras = _sibling_files(prefix)
    files += list(extras.values())
    do_lower_case = None
    if "vocab_file" in extras:
        do_lower_case = guess_do_lower_case(extras["vocab_file"])
    return ImportResult(config=config, model=model, encoder=encoder, report=report,
                        vocab_file=extras.get("vocab_file"), sp_model_file=extras.get("sp_model_file"),
                        do_lower_case=do_lower_case, source_files=files, task_model=task_model,
                        source_task=source_task)


def guess_do_lower_case(vocab_file):
    """google-research dirs say nothing about casing; an uncased vocab has no capitalized words."""
    with open(vocab_file, encoding="utf-8") as f:
        for line in f:
            token = line.strip()
            if token[:1].isupper() and not token.startswith("["):
                return False
    return True
