"""Simple baselines that a fine-tuned model must beat on held-out data, one per task.

Each is a small pure function over plain Python values, so a test can score it with
`finetune.metrics` on the same dev set as the model and compare:

- question answering: `most_question_words_sentence`, the context sentence sharing the
  most words with the question;
- tagging: `majority_tag_per_word`, each word's most frequent training tag;
- sentence classification: `majority_class`; regression: `mean_regression`;
- multiple choice: `first_choice` and `random_choices` (chance).
"""

import collections
import random
import re

_WORD = re.compile(r"\w+")
_SENTENCE = re.compile(r"\S.*?(?:[.!?](?=\s|$)|$)", re.DOTALL)


def _words(text):
    return set(_WORD.findall(text.lower()))


def most_question_words_sentence(question, context):
    """The sentence of `context` sharing the most distinct words with `question`.

    Words are lower-cased runs of letters and digits; a sentence ends at `.`, `!` or `?`
    followed by white space (or at the end of the context). Ties go to the earlier sentence.

    Args:
        question: the question text.
        context: the passage to answer from.

    Returns:
        (sentence text, its character start in `context`); ("", 0) for an empty context.

    Example:
    >>> most_question_words_sentence("Who wrote it?", "It rained. Ann wrote it.")
    ('Ann wrote it.', 11)
    """
    asked = _words(question)
    best, best_score = ("", 0), -1
    for match in _SENTENCE.finditer(context):
        sentence = match.group().rstrip()
        score = len(asked & _words(sentence))
        if score > best_score:
            best, best_score = (sentence, match.start()), score
    return best


def majority_tag_per_word(train_sentences):
    """A tagger that gives each word the tag it had most often in training.

    Args:
        train_sentences: (tokens, tags) pairs, or objects with `.tokens` and `.tags`
            (such as `readers.TaggingExample`).

    Returns:
        predict(tokens) -> list of tags. A word never seen in training gets the most
        frequent tag overall (usually "O"); ties go to the tag seen first.

    Example:
    >>> predict = majority_tag_per_word([(["Ann", "ran", "home"], ["B-PER", "O", "O"])])
    >>> predict(["Ann", "swam"])
    ['B-PER', 'O']
    """
    per_word, overall = collections.defaultdict(collections.Counter), collections.Counter()
    for sentence in train_sentences:
        tokens, tags = (sentence.tokens, sentence.tags) if hasattr(sentence, "tokens") else sentence
        if len(tokens) != len(tags):
            raise ValueError(f"a training sentence has {len(tokens)} tokens but {len(tags)} tags: {tokens}")
        for token, tag in zip(tokens, tags):
            per_word[token][tag] += 1
            overall[tag] += 1
    if not overall:
        raise ValueError("majority_tag_per_word needs at least one tagged training word")
    default = overall.most_common(1)[0][0]
    best = {word: counts.most_common(1)[0][0] for word, counts in per_word.items()}

    def predict(tokens):
        return [best.get(token, default) for token in tokens]

    return predict


def majority_class(labels):
    """The most frequent label (ties: the one seen first); predict it for every example.

    Example:
    >>> majority_class(["a", "b", "b"])
    'b'
    """
    if not labels:
        raise ValueError("majority_class needs at least one label")
    return collections.Counter(labels).most_common(1)[0][0]


def mean_regression(values):
    """The mean of the training targets; predicting it for every example gives an undefined
    (NaN) Pearson and Spearman correlation, as the predictions are constant.

    Example:
    >>> mean_regression([1.0, 2.0, 6.0])
    3.0
    """
    values = [float(v) for v in values]
    if not values:
        raise ValueError("mean_regression needs at least one value")
    return sum(values) / len(values)


def first_choice(num_examples):
    """Multiple-choice predictions that always pick choice 0.

    Example:
    >>> first_choice(3)
    [0, 0, 0]
    """
    return [0] * num_examples


def random_choices(num_examples, num_choices, seed=0):
    """Seeded uniform random choice indices: the chance baseline, accuracy about 1 / num_choices.

    Example:
    >>> len(random_choices(5, 4))
    5
    """
    if num_choices < 1:
        raise ValueError(f"num_choices must be at least 1, not {num_choices}")
    rng = random.Random(seed)
    return [rng.randrange(num_choices) for _ in range(num_examples)]
