"""The real-text fine-tuning sets of tests/data/finetune/: they parse with our readers, answers sit
at their answer_start, train and dev share no passage or sentence, the sizes are the ones
tests/data/README.md documents, and the simple baselines leave room to beat them on dev."""

import collections
import csv
import json
import math
import pathlib
import re

import pytest

from official_encoders.finetune import baselines, data, metrics, readers

DIR = pathlib.Path(__file__).resolve().parent / "finetune"
README = pathlib.Path(__file__).resolve().parent / "README.md"
SQUAD = ("squad_train.json", "squad_dev.json", "squad_v2_train.json", "squad_v2_dev.json")


def squad(name):
    return readers.read_squad(str(DIR / name), version_2_with_negative="v2" in name)


def documented_sizes():
    """{file: examples} from the sizes table of README.md's fine-tuning section."""
    section = README.read_text(encoding="utf-8").split("## finetune/", 1)[1]
    return {name: int(count) for name, count in re.findall(r"^\| `([\w.]+)` \| (\d+) \|", section, re.M)}


def counted_sizes():
    sizes = {name: len(squad(name).examples) for name in SQUAD}
    for split in ("train", "dev"):
        sizes[f"conll_{split}.txt"] = len(readers.read_tagging(str(DIR / f"conll_{split}.txt")).examples)
        sizes[f"swag_{split}.csv"] = len(readers.read_multiple_choice(str(DIR / f"swag_{split}.csv")).examples)
        sizes[f"sts_{split}.tsv"] = len(data.read_examples(str(DIR / f"sts_{split}.tsv"),
                                                           ["sentence1", "sentence2"], "label")[0])
        sizes[f"classification_{split}.tsv"] = len(data.read_examples(str(DIR / f"classification_{split}.tsv"),
                                                                      ["sentence"], "label")[0])
    return sizes


def test_sizes_are_the_documented_ones_and_small():
    sizes = counted_sizes()
    assert documented_sizes() == sizes
    for name, size in sizes.items():
        assert 50 <= size <= 330, f"{name}: {size} examples; the slow tests need ~100-300 per training split"


@pytest.mark.parametrize("name", SQUAD)
def test_squad_answers_sit_at_their_answer_start(name):
    result = squad(name)
    assert not result.skipped
    document = json.loads((DIR / name).read_text(encoding="utf-8"))
    ids = []
    for article in document["data"]:
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                ids.append(qa["id"])
                assert qa["question"].endswith("?")
                if "v2" in name:
                    assert qa["is_impossible"] == (not qa["answers"])
                else:
                    assert qa["answers"] and "is_impossible" not in qa
                for answer in qa["answers"]:
                    start = answer["answer_start"]
                    assert context[start:start + len(answer["text"])] == answer["text"], qa["id"]
                    assert answer["text"].strip() == answer["text"] != ""
                    assert metrics.normalize_answer(answer["text"]), f"{qa['id']}: the v2.0 metric would take " \
                        "an answer that normalises to nothing for 'no answer'"
                if not qa["answers"]:
                    assert qa["question"] not in [q["question"] for q in paragraph["qas"] if q["answers"]]
    assert len(ids) == len(set(ids)), f"{name} repeats question ids"
    if "v2" in name:
        assert 0.1 < sum(e.is_impossible for e in result.examples) / len(result.examples) < 0.5


def test_squad_v2_holds_the_v1_questions_and_unanswerable_ones():
    for split in ("train", "dev"):
        v1 = {e.id: e for e in squad(f"squad_{split}.json").examples}
        v2 = {e.id: e for e in squad(f"squad_v2_{split}.json").examples}
        assert {i: e for i, e in v2.items() if not e.is_impossible} == v1


def test_squad_packed_question_and_context_fit_128_minilm_pieces():
    from tokenizers import Tokenizer

    from export.main_job import minilm_dir

    tokenizer = Tokenizer.from_file(str(pathlib.Path(minilm_dir()) / "tokenizer.json"))
    tokenizer.no_truncation()
    longest = max(len(tokenizer.encode(e.question, e.context).ids)
                  for name in SQUAD for e in squad(name).examples)
    assert longest <= 128


def test_train_and_dev_share_no_passage_question_or_sentence():
    for train, dev in (("squad_train.json", "squad_dev.json"), ("squad_v2_train.json", "squad_v2_dev.json")):
        train_examples, dev_examples = squad(train).examples, squad(dev).examples
        train_sentences = {s for e in train_examples for s in re.split(r"(?<=[.?!])\s+", e.context)}
        assert not {e.context for e in train_examples} & {e.context for e in dev_examples}
        assert not {e.question for e in train_examples} & {e.question for e in dev_examples}
        assert not {s for e in dev_examples for s in re.split(r"(?<=[.?!])\s+", e.context)} & train_sentences
    tagging = {split: readers.read_tagging(str(DIR / f"conll_{split}.txt")).examples for split in ("train", "dev")}
    assert not {e.tokens for e in tagging["train"]} & {e.tokens for e in tagging["dev"]}
    choices = {split: readers.read_multiple_choice(str(DIR / f"swag_{split}.csv")).examples
               for split in ("train", "dev")}
    train_texts = {e.context for e in choices["train"]} | {e.stem + " " + x for e in choices["train"] for x in e.endings}
    for example in choices["dev"]:
        assert example.context not in train_texts
        assert not {example.stem + " " + x for x in example.endings} & train_texts
    sts = {split: data.read_examples(str(DIR / f"sts_{split}.tsv"), ["sentence1", "sentence2"], "label")[0]
           for split in ("train", "dev")}
    assert not {t for pair in sts["train"] for t in pair} & {t for pair in sts["dev"] for t in pair}
    messages = {split: data.read_examples(str(DIR / f"classification_{split}.tsv"), ["sentence"], "label")
                for split in ("train", "dev")}
    assert not set(messages["train"][0]) & set(messages["dev"][0])


def test_conll_tags_are_iob2_entities_of_four_types():
    for split in ("train", "dev"):
        examples = readers.read_tagging(str(DIR / f"conll_{split}.txt")).examples
        types = collections.Counter()
        for example in examples:
            previous = "O"
            for tag in example.tags:
                assert tag == "O" or re.fullmatch(r"[BI]-(PER|LOC|ORG|MISC)", tag), tag
                if tag.startswith("I-"):
                    assert previous in ("B-" + tag[2:], tag), example  # IOB2: I- only continues its entity
                previous = tag
            types.update(t for t, _, _ in metrics.entity_spans(list(example.tags)))
        assert set(types) == {"PER", "LOC", "ORG", "MISC"}


def test_swag_rows_have_four_endings_one_right_and_balanced_labels():
    for split in ("train", "dev"):
        examples = readers.read_multiple_choice(str(DIR / f"swag_{split}.csv")).examples
        assert {len(e.endings) for e in examples} == {4}
        assert all(len(set(e.endings)) == 4 for e in examples)
        counts = collections.Counter(e.label for e in examples)
        assert set(counts) == {0, 1, 2, 3} and max(counts.values()) < 0.4 * len(examples), counts
        with open(DIR / f"swag_{split}.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        assert all(row["startphrase"] == row["sent1"] + " " + row["sent2"] for row in rows)


def test_sts_labels_are_graded_floats_from_0_to_5():
    for split in ("train", "dev"):
        pairs, labels = data.read_examples(str(DIR / f"sts_{split}.tsv"), ["sentence1", "sentence2"], "label")
        values = [float(v) for v in labels]
        assert min(values) == 0.0 and max(values) == 5.0 and len(set(values)) == 6
        for (first, second), value in zip(pairs, values):
            if value == 5.0:
                assert first == second
            # Every kept word of sentence1 is there, in order: 5 * kept / len(sentence1) is the label.
            words, kept = first.split(), round(value / 5 * len(first.split()))
            assert len(second.split()) == len(words)
            assert _is_subsequence(second.split()[:kept], words)


def _is_subsequence(part, whole):
    remaining = iter(whole)
    return all(word in remaining for word in part)


def test_baselines_on_dev_leave_room_to_beat_them():
    scores = {}
    for name in ("squad_dev.json", "squad_v2_dev.json"):
        examples = squad(name).examples
        predictions = {e.id: baselines.most_question_words_sentence(e.question, e.context)[0] for e in examples}
        gold = {e.id: [text for text, _ in e.answers] for e in examples}
        result = metrics.squad_exact_match_and_f1(predictions, gold)
        scores[f"{name} most-question-words EM / F1"] = (result["exact_match"], result["f1"])
        assert result["exact_match"] < 50 and result["f1"] < 50
    train = readers.read_tagging(str(DIR / "conll_train.txt")).examples
    dev = readers.read_tagging(str(DIR / "conll_dev.txt")).examples
    predict = baselines.majority_tag_per_word(train)
    tagging = metrics.tagging_scores([list(e.tags) for e in dev], [predict(list(e.tokens)) for e in dev])
    scores["conll_dev majority-tag F1 / token accuracy"] = (tagging["f1"], tagging["accuracy"])
    assert tagging["f1"] < 0.9
    choices = readers.read_multiple_choice(str(DIR / "swag_dev.csv")).examples
    labels = [e.label for e in choices]
    scores["swag_dev first-choice / random accuracy"] = (
        metrics.accuracy(labels, baselines.first_choice(len(labels))),
        metrics.accuracy(labels, baselines.random_choices(len(labels), 4, seed=0)))
    assert max(scores["swag_dev first-choice / random accuracy"]) < 0.4
    _, train_scores = data.read_examples(str(DIR / "sts_train.tsv"), ["sentence1", "sentence2"], "label")
    _, dev_scores = data.read_examples(str(DIR / "sts_dev.tsv"), ["sentence1", "sentence2"], "label")
    mean = baselines.mean_regression(train_scores)
    pearson = metrics.pearson([float(v) for v in dev_scores], [mean] * len(dev_scores))
    scores["sts_dev mean-regression pearson"] = pearson
    assert math.isnan(pearson)
    _, train_labels = data.read_examples(str(DIR / "classification_train.tsv"), ["sentence"], "label")
    _, dev_labels = data.read_examples(str(DIR / "classification_dev.tsv"), ["sentence"], "label")
    majority = baselines.majority_class(train_labels)
    scores["classification_dev majority-class accuracy"] = metrics.accuracy(dev_labels, [majority] * len(dev_labels))
    assert set(dev_labels) <= set(train_labels)
    assert scores["classification_dev majority-class accuracy"] < 0.5
    for what, value in scores.items():
        print(f"{what}: {value}")


def test_build_sets_reproduces_the_committed_files(tmp_path):
    from tests.data.finetune import build_sets

    build_sets.main(tmp_path)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(p.name for p in DIR.iterdir() if p.suffix in (".json", ".txt", ".csv", ".tsv")
                             and p.name != "gazetteers.json")
    for name in written:
        assert (tmp_path / name).read_bytes() == (DIR / name).read_bytes(), (
            f"{name} differs from what build_sets.py writes; rerun python -m tests.data.finetune.build_sets")
