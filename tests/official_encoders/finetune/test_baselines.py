"""The fine-tuning baselines on hand-made inputs."""

import math

import pytest

from official_encoders.finetune import baselines, metrics
from official_encoders.finetune.readers import TaggingExample


def test_most_question_words_sentence_picks_the_sentence_with_most_shared_words():
    context = "The cat sat on the mat. Ada Lovelace wrote the first program!  It ran in 1843?"
    text, start = baselines.most_question_words_sentence("Who wrote the first program?", context)
    assert text == "Ada Lovelace wrote the first program!"
    assert context[start:start + len(text)] == text


def test_most_question_words_sentence_counts_distinct_words_case_insensitively():
    context = "Rain rain rain fell. Snow fell on Monday."
    # "rain" three times is still one shared word; "snow" and "monday" are two.
    assert baselines.most_question_words_sentence("RAIN? snow MONDAY", context) == ("Snow fell on Monday.", 21)


def test_most_question_words_sentence_ties_go_to_the_earlier_sentence_and_handles_no_final_stop():
    assert baselines.most_question_words_sentence("nothing shared", "First one. Second one") == ("First one.", 0)
    assert baselines.most_question_words_sentence("second", "First one. Second one") == ("Second one", 11)
    assert baselines.most_question_words_sentence("q", "") == ("", 0)


def test_most_question_words_sentence_does_not_split_inside_numbers():
    text, start = baselines.most_question_words_sentence("version", "Added in version 3.8 today. Other.")
    assert (text, start) == ("Added in version 3.8 today.", 0)


def test_majority_tag_per_word_takes_each_words_most_frequent_tag():
    train = [(["Paris", "is", "big"], ["B-LOC", "O", "O"]),
             (["Paris", "Hilton", "smiled"], ["B-PER", "I-PER", "O"]),
             TaggingExample(("Paris", "is", "old"), ("B-LOC", "O", "O"))]
    predict = baselines.majority_tag_per_word(train)
    assert predict(["Paris", "Hilton", "is", "unseen"]) == ["B-LOC", "I-PER", "O", "O"]
    assert predict([]) == []


def test_majority_tag_per_word_unknown_words_get_the_overall_most_frequent_tag():
    predict = baselines.majority_tag_per_word([(["a", "b", "c"], ["X", "Y", "Y"])])
    assert predict(["zzz"]) == ["Y"]
    tie = baselines.majority_tag_per_word([(["w", "w"], ["B-ORG", "O"])])
    assert tie(["w", "new"]) == ["B-ORG", "B-ORG"]  # ties go to the tag seen first


def test_majority_tag_per_word_rejects_bad_training_data():
    with pytest.raises(ValueError, match="2 tokens but 1 tags"):
        baselines.majority_tag_per_word([(["a", "b"], ["O"])])
    with pytest.raises(ValueError, match="at least one"):
        baselines.majority_tag_per_word([])


def test_majority_class_and_mean_regression():
    assert baselines.majority_class(["neg", "pos", "pos", "neg", "pos"]) == "pos"
    assert baselines.majority_class(["b", "a"]) == "b"
    assert baselines.mean_regression([0, 5, "1.0"]) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        baselines.majority_class([])
    with pytest.raises(ValueError):
        baselines.mean_regression([])
    # A constant prediction has no correlation: the regression metrics are NaN.
    labels = [0.0, 1.0, 4.0]
    assert math.isnan(metrics.pearson(labels, [baselines.mean_regression(labels)] * 3))


def test_multiple_choice_baselines():
    assert baselines.first_choice(4) == [0, 0, 0, 0]
    picks = baselines.random_choices(4000, 4, seed=3)
    assert picks == baselines.random_choices(4000, 4, seed=3)
    assert set(picks) == {0, 1, 2, 3}
    assert metrics.accuracy([1] * 4000, picks) == pytest.approx(0.25, abs=0.03)
    with pytest.raises(ValueError, match="num_choices"):
        baselines.random_choices(3, 0)
