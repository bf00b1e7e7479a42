"""Small made-up sentence-prediction files: polarity (one text), same polarity (pairs), a graded score."""

import csv
import random

POSITIVE = ("good", "great", "fine")
NEGATIVE = ("bad", "awful", "poor")
FILLER = ("the", "movie", "was", "plot", "acting", "really", "very", "a")


def sentence(rng, positive, polar_words=1):
    words = [rng.choice(FILLER) for _ in range(4)]
    for _ in range(polar_words):
        words.insert(rng.randrange(len(words) + 1), rng.choice(POSITIVE if positive else NEGATIVE))
    return " ".join(words)


def write_single(path, n, seed):
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write("sentence\tlabel\n")
        for _ in range(n):
            positive = rng.random() < 0.5
            f.write(f"{sentence(rng, positive)}\t{'pos' if positive else 'neg'}\n")
    return str(path)


def write_pairs(path, n, seed):
    """Label: whether both sentences have the same polarity."""
    rng = random.Random(seed)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["first", "second", "same"])
        for _ in range(n):
            a, b = rng.random() < 0.5, rng.random() < 0.5
            writer.writerow([sentence(rng, a), sentence(rng, b), int(a == b)])
    return str(path)


def write_scores(path, n, seed):
    """STS-B style: a float label, the number of positive words (0..3) minus 1.5 plus noise-free scale."""
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write("sentence\tscore\n")
        for _ in range(n):
            good = rng.randrange(4)
            words = [rng.choice(FILLER) for _ in range(3)] + [rng.choice(POSITIVE) for _ in range(good)]
            words += [rng.choice(NEGATIVE) for _ in range(3 - good)]
            rng.shuffle(words)
            f.write(f"{' '.join(words)}\t{good / 3 * 5:.3f}\n")
    return str(path)
