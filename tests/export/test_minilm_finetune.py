"""Fine-tuning the exported all-MiniLM-L6-v2 through hub.KerasLayer beats bag-of-words.

The task is tests/data/labelled_messages.tsv: real Django UI messages labelled with the
Django component that ships them (see tests/data/README.md). Both models see the same
seeded, stratified train/test split. The baseline is a logistic regression on unigram and
bigram counts or tf-idf, whichever scores higher (the stronger baseline). Ours is the real
encoder exported by the project's pipeline, loaded with hub.KerasLayer(trainable=True) in a
tf_keras model, with the preprocessor in tf.data.map and a softmax head on mean-pooled tokens.
"""

import pathlib

import numpy as np
import pytest

from export import main_job, pipeline

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "labelled_messages.tsv"
SEED = 20261122
TEST_FRACTION = 0.3
SEQ_LENGTH = 64
BATCH_SIZE = 16
EPOCHS = 4
LEARNING_RATE = 1e-4


def read_labelled_messages():
    labels, texts = [], []
    for line in DATA.read_text(encoding="utf-8").split("\n"):
        if line:
            label, text = line.split("\t")
            labels.append(label)
            texts.append(text)
    return labels, texts


def bag_of_words_scores(train_texts, train_y, test_texts, test_y):
    """Held-out (accuracy, macro-F1, name) of the better of two unigram+bigram logistic regressions."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.pipeline import make_pipeline

    scores = []
    for name, vectorizer in (("counts", CountVectorizer(ngram_range=(1, 2))),
                             ("tf-idf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True))):
        model = make_pipeline(vectorizer, LogisticRegression(max_iter=5000, C=10.0))
        predicted = model.fit(train_texts, train_y).predict(test_texts)
        scores.append((accuracy_score(test_y, predicted), f1_score(test_y, predicted, average="macro"), name))
    return max(scores)


def fine_tuned_minilm_predictions(encoder_dir, preprocess_dir, train_texts, train_y, test_texts, classes):
    import tensorflow as tf
    import tensorflow_hub as hub
    import tensorflow_text  # noqa: F401  (registers the preprocessor's ops)
    import tf_keras

    tf_keras.utils.set_random_seed(SEED)
    preprocessor = hub.load(preprocess_dir)

    def pack(texts, *label):
        packed = preprocessor.bert_pack_inputs([preprocessor.tokenize(texts)], seq_length=SEQ_LENGTH)
        return (packed, *label)

    train = (tf.data.Dataset.from_tensor_slices((train_texts, train_y))
             .shuffle(len(train_texts), seed=SEED, reshuffle_each_iteration=True)
             .batch(BATCH_SIZE).map(pack, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE))
    test = (tf.data.Dataset.from_tensor_slices(test_texts).batch(64)
            .map(pack, num_parallel_calls=tf.data.AUTOTUNE))

    inputs = {n: tf_keras.Input((SEQ_LENGTH,), dtype=tf.int32, name=n)
              for n in ("input_word_ids", "input_mask", "input_type_ids")}
    encoder = hub.KerasLayer(encoder_dir, trainable=True, name="minilm")
    embedding = tf_keras.layers.Lambda(lambda t: main_job.mean_pool(*t), name="mean_pool")(
        [encoder(inputs)["sequence_output"], inputs["input_mask"]])
    probabilities = tf_keras.layers.Dense(len(classes), activation="softmax", name="component")(embedding)
    model = tf_keras.Model(inputs, probabilities)
    model.compile(tf_keras.optimizers.Adam(LEARNING_RATE), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    before = [w.numpy().copy() for w in encoder.trainable_weights]
    history = model.fit(train, epochs=EPOCHS, verbose=2)
    unchanged = [w.name for b, w in zip(before, encoder.trainable_weights) if np.array_equal(b, w.numpy())]
    # Mean pooling bypasses the pooler, so only its dense kernel and bias get no gradient.
    assert len(unchanged) <= 2 and all("pool" in name for name in unchanged), unchanged
    assert history.history["loss"][-1] < history.history["loss"][0]
    return np.argmax(model.predict(test, verbose=0), axis=1)


@pytest.mark.slow
def test_fine_tuned_minilm_beats_bag_of_words_on_django_messages(tmp_path):
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import train_test_split

    labels, texts = read_labelled_messages()
    classes = sorted(set(labels))
    assert len(classes) >= 3 and len(texts) >= 300
    train_texts, test_texts, train_labels, test_labels = train_test_split(
        texts, labels, test_size=TEST_FRACTION, stratify=labels, random_state=SEED)
    train_y = np.array([classes.index(label) for label in train_labels], np.int32)
    test_y = np.array([classes.index(label) for label in test_labels], np.int32)

    bow_accuracy, bow_f1, bow_name = bag_of_words_scores(train_texts, train_y, test_texts, test_y)

    summary = pipeline.run_export(pipeline.ExportOptions(
        source=f"hf:{main_job.minilm_dir()}", hub_root=str(tmp_path), export_type="all"), printer=lambda m: None)
    encoder_dir, preprocess_dir = (a.path for a in summary.artifacts)
    predicted = fine_tuned_minilm_predictions(
        encoder_dir, preprocess_dir, train_texts, train_y, test_texts, classes)
    accuracy, f1 = accuracy_score(test_y, predicted), f1_score(test_y, predicted, average="macro")

    print(f"\n{len(classes)} classes, {len(train_texts)} train / {len(test_texts)} test messages")
    print(f"bag-of-words ({bow_name}) logistic regression: accuracy {bow_accuracy:.3f}, macro-F1 {bow_f1:.3f}")
    print(f"fine-tuned all-MiniLM-L6-v2 via hub.KerasLayer:  accuracy {accuracy:.3f}, macro-F1 {f1:.3f}")
    assert accuracy > bow_accuracy, (
        f"fine-tuned MiniLM accuracy {accuracy:.3f} does not beat bag-of-words {bow_accuracy:.3f}")
