"""span_selection.best_answers against a plain-Python merge of the same candidates, and against merge_answers."""

import numpy as np
import tensorflow as tf

from official_encoders.serving import span_selection


def python_best_answers(examples, texts, scores, num_examples, n):
    """Equal texts of one example (ignoring case) merged into one answer scored by their sum,
    placed at the first; best score first, ties to the answer seen first."""
    groups = {}
    for index, (example, text, score) in enumerate(zip(examples, texts, scores)):
        if score > 0:
            group = groups.setdefault((example, text.lower()), [index, 0.0])
            group[1] += score
    best = [[] for _ in range(num_examples)]
    for (example, _), (first, score) in groups.items():
        best[example].append((first, score))
    return [sorted(answers, key=lambda a: (-a[1], a[0]))[:n] for answers in best]


def test_best_answers_merge_equal_texts_and_order_ties_by_first_seen():
    rng = np.random.default_rng(0)
    num_examples, count, n = 6, 90, 4
    examples = np.sort(rng.integers(0, num_examples - 1, count))  # the last example has no candidate
    texts = rng.choice(["Guitar", "guitar", "stage", "a man", "A Man", "sofa", "dog"], count)
    # Few distinct values, so merged scores tie; some candidates unscored.
    scores = rng.choice([0.0, 0.125, 0.25, 0.5], count).astype("float32")
    chosen, merged = span_selection.best_answers(tf.constant(examples, tf.int64), tf.constant(texts),
                                                 tf.constant(scores), num_examples, n)
    expected = python_best_answers(examples, [t for t in texts], scores, num_examples, n)
    for example, answers in enumerate(expected):
        width = len(answers)
        assert list(chosen.numpy()[example, :width]) == [first for first, _ in answers]
        np.testing.assert_allclose(merged.numpy()[example, :width], [score for _, score in answers], rtol=1e-6)
        assert (chosen.numpy()[example, width:] == -1).all() and (merged.numpy()[example, width:] == 0).all()
    assert any(len(a) == n for a in expected) and not expected[-1]
    first, score, found = span_selection.merge_answers(tf.constant(examples, tf.int64), tf.constant(texts),
                                                       tf.constant(scores), num_examples)
    np.testing.assert_array_equal(found.numpy(), chosen.numpy()[:, 0] >= 0)
    np.testing.assert_array_equal(first.numpy()[found.numpy()], chosen.numpy()[found.numpy(), 0])
    np.testing.assert_array_equal(score.numpy(), merged.numpy()[:, 0])
