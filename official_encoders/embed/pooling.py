"""Sentence vectors from encoder outputs: the pooling choices of `official_encoders.encode`.

- "sentence_embedding": the model's own output of that name (an exported
  sentence-transformers model carries its pooling and normalisation in it);
- "mean": the mean of `sequence_output` over real tokens ([CLS] and [SEP]
  included, padding excluded), as sentence-transformers' mean pooling;
- "cls": `sequence_output` at [CLS];
- "pooled": `pooled_output` (BERT's tanh-dense pooler over [CLS]).
"""

import tensorflow as tf

POOLINGS = ("sentence_embedding", "mean", "cls", "pooled")
SENTENCE_EMBEDDING = "sentence_embedding"


def check_pooling(pooling, output_names):
    """Returns the pooling to use: `pooling`, or the default for a model with `output_names`."""
    if pooling is None:
        return SENTENCE_EMBEDDING if SENTENCE_EMBEDDING in output_names else "mean"
    if pooling not in POOLINGS:
        raise ValueError(f"pooling={pooling!r}: use one of {', '.join(POOLINGS)} (or None for the "
                         "model's sentence_embedding output if it has one, else mean).")
    if pooling == SENTENCE_EMBEDDING and SENTENCE_EMBEDDING not in output_names:
        raise ValueError(
            "pooling='sentence_embedding', but this encoder has no sentence_embedding output (its "
            f"outputs: {', '.join(sorted(output_names))}); choose mean, cls or pooled.")
    return pooling


def mean_pool(sequence_output, input_mask):
    """Mean of sequence_output [B, S, H] over positions where input_mask [B, S] is 1."""
    mask = tf.cast(input_mask, sequence_output.dtype)[:, :, tf.newaxis]
    return tf.reduce_sum(sequence_output * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1e-9)


def l2_normalize(vectors):
    """vectors / max(||vectors||, 1e-12), row by row, as torch.nn.functional.normalize."""
    norm = tf.norm(vectors, axis=-1, keepdims=True)
    return vectors / tf.maximum(norm, 1e-12)


def pool(outputs, input_mask, pooling, normalize):
    """[B, H] float32 sentence vectors from an encoder's output dict."""
    if pooling == SENTENCE_EMBEDDING:
        vectors = outputs[SENTENCE_EMBEDDING]
    elif pooling == "mean":
        vectors = mean_pool(outputs["sequence_output"], input_mask)
    elif pooling == "cls":
        vectors = outputs["sequence_output"][:, 0]
    else:
        vectors = outputs["pooled_output"]
    vectors = tf.cast(vectors, tf.float32)
    return l2_normalize(vectors) if normalize else vectors
