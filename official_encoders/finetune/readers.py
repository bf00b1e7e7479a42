"""Readers of the fine-tuning data files: SQuAD JSON, CoNLL columns and JSON lines, SWAG CSV.

Each reader returns a `ReadResult`: the examples, and the bad records it skipped. A bad
record (an answer that is not at its `answer_start`, a CoNLL sentence whose column count
changes, a varying number of choices, ...) raises `BadExampleError` naming the file, the
line or record and what is wrong, unless `skip_bad_examples=True`, in which case it is
counted and described in `ReadResult.skipped` and nothing is trained on it. An empty file is
always an error. (Sentence-prediction TSV/CSV files are read by `finetune.data`.)
"""

import csv
import dataclasses
import json
import os
from typing import List, Optional, Tuple


class BadExampleError(ValueError):
    """A record of a data file that cannot be used; the message names the file and the record."""


@dataclasses.dataclass(frozen=True)
class QuestionExample:
    """One SQuAD question: `answers` are (text, character start) pairs, empty when unanswerable."""

    id: str
    question: str
    context: str
    answers: Tuple[Tuple[str, int], ...]
    title: str = ""

    @property
    def is_impossible(self):
        return not self.answers


@dataclasses.dataclass(frozen=True)
class TaggingExample:
    """One sentence: its words and one tag per word; `where` ("file: line N") names it in errors."""

    tokens: Tuple[str, ...]
    tags: Tuple[str, ...]
    where: Optional[str] = dataclasses.field(default=None, compare=False)


@dataclasses.dataclass(frozen=True)
class ChoiceExample:
    """One multiple-choice question: a context, the shared start of every ending, the endings, the answer;
    `where` ("file: line N") names it in errors."""

    context: str
    stem: str
    endings: Tuple[str, ...]
    label: Optional[int]
    where: Optional[str] = dataclasses.field(default=None, compare=False)


@dataclasses.dataclass
class ReadResult:
    examples: list
    skipped: List[str] = dataclasses.field(default_factory=list)


def bad_record(where, message, skip_bad_examples, skipped):
    """The one rule for a bad record: raise `BadExampleError`, or describe it in `skipped` when skipping.

    Also for checks made after reading, such as a label outside the training label set.

    Args:
      where: the file and record, e.g. "dev.conll: line 17".
      message: what is wrong with it.
      skip_bad_examples: whether to count and skip instead of raising.
      skipped: the list the description is appended to.
    """
    text = f"{where}: {message}"
    if not skip_bad_examples:
        raise BadExampleError(text + " (pass --skip_bad_examples to count and skip such records)")
    skipped.append(text)


def keep_good_records(examples, problem, skip_bad_examples, skipped, what="example"):
    """The examples in which `problem` finds nothing wrong; each other one is a `bad_record`.

    For checks that need more than one file, such as eval labels against the training labels.
    A record already described in `skipped` (an evaluation repeated every epoch) is not added
    again. With nothing left, raises `BadExampleError`.

    Args:
      examples: records with a `where` ("file: line N"), or None there.
      problem: example -> a message saying what is wrong with it, or None.
      skip_bad_examples: skip and describe bad records instead of raising.
      skipped: the list the descriptions go to.
      what: the records' name in the messages.
    """
    kept, found = [], []
    for number, example in enumerate(examples, 1):
        message = problem(example)
        if message is None:
            kept.append(example)
        else:
            bad_record(getattr(example, "where", None) or f"{what} {number}", message, skip_bad_examples, found)
    skipped.extend(text for text in found if text not in skipped)
    if not kept:
        raise BadExampleError(f"None of the {len(examples)} {what}s is usable; the first: {found[0]}")
    return kept


class _Collector:
    """Raises on the first bad record, or collects them all when skipping."""

    def __init__(self, path, skip_bad_examples):
        self.path, self.skip, self.examples, self.skipped = path, skip_bad_examples, [], []

    def where(self, record):
        return f"{self.path}: {record}"

    def bad(self, where, message):
        bad_record(self.where(where), message, self.skip, self.skipped)

    def result(self):
        if not self.examples:
            raise BadExampleError(f"{self.path}: no usable examples"
                                  + (f" ({len(self.skipped)} bad records skipped)" if self.skipped else ""))
        return ReadResult(self.examples, self.skipped)


def _read_text(path):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Data file {path} does not exist.")
    with open(path, encoding="utf-8") as f:
        try:
            text = f.read()
        except UnicodeDecodeError as error:
            raise BadExampleError(f"{path}: not UTF-8 text ({error})") from None
    if not text.strip():
        raise BadExampleError(f"{path} is empty.")
    return text


# ------------------------------------------------------------------------------ SQuAD


def read_squad(path, version_2_with_negative=False, skip_bad_examples=False):
    """SQuAD v1.1/v2.0 questions, from the nested layout (`data` -> `paragraphs` -> `qas`) or the
    flat one-record-per-question layout of the Hugging Face datasets (a JSON list, an object
    with `data` holding such records, or JSON lines)."""
    text = _read_text(path)
    out = _Collector(path, skip_bad_examples)
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        document = None
    if document is None:
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    records.append((f"line {number}", json.loads(line)))
                except json.JSONDecodeError as error:
                    raise BadExampleError(f"{path}: line {number}: not JSON ({error.msg})") from None
        _read_flat_records(records, out, version_2_with_negative)
        return out.result()
    data = document.get("data", document) if isinstance(document, dict) else document
    if not isinstance(data, list):
        raise BadExampleError(f"{path}: expected a list of articles or questions under 'data'")
    if data and isinstance(data[0], dict) and "paragraphs" in data[0]:
        for a, article in enumerate(data):
            for p, paragraph in enumerate(article.get("paragraphs", [])):
                context = paragraph.get("context", "")
                for q, qa in enumerate(paragraph.get("qas", [])):
                    where = f"data[{a}].paragraphs[{p}].qas[{q}] (id {qa.get('id')!r})"
                    answers = [(x.get("text", ""), x.get("answer_start")) for x in qa.get("answers", [])]
                    impossible = bool(qa.get("is_impossible", False))
                    _add_question(out, where, qa.get("id"), qa.get("question"), context, answers,
                                  impossible, version_2_with_negative, article.get("title", ""))
    else:
        _read_flat_records([(f"record {i}", r) for i, r in enumerate(data)], out, version_2_with_negative)
    return out.result()


def _read_flat_records(records, out, version_2_with_negative):
    for where, record in records:
        answers = record.get("answers") or {}
        texts, starts = answers.get("text", []), answers.get("answer_start", [])
        if len(texts) != len(starts):
            out.bad(f"{where} (id {record.get('id')!r})",
                    f"answers has {len(texts)} texts but {len(starts)} answer_start values")
            continue
        _add_question(out, f"{where} (id {record.get('id')!r})", record.get("id"), record.get("question"),
                      record.get("context", ""), list(zip(texts, starts)), not texts,
                      version_2_with_negative, record.get("title", ""))


def _add_question(out, where, qid, question, context, answers, impossible, version_2, title):
    if not qid:
        return out.bad(where, "the question has no id")
    if not question or not str(question).strip():
        return out.bad(where, "the question is empty")
    if impossible or not answers:
        if not version_2:
            return out.bad(where, "has no answer; unanswerable questions need --version_2_with_negative")
        out.examples.append(QuestionExample(str(qid), question, context, (), title))
        return None
    checked = []
    for answer_text, start in answers:
        if not isinstance(start, int) or start < 0:
            return out.bad(where, f"answer_start {start!r} is not a character offset")
        if context[start:start + len(answer_text)] != answer_text:
            found = context[start:start + len(answer_text)]
            return out.bad(where, f"answer {answer_text!r} is not at answer_start {start} (the context has "
                                  f"{found!r} there)")
        checked.append((answer_text, start))
    out.examples.append(QuestionExample(str(qid), question, context, tuple(checked), title))
    return None


# ------------------------------------------------------------------------------ tagging


def read_tagging(path, skip_bad_examples=False):
    """Tagged sentences from a CoNLL-2003-style column file (word first, tag in the last column,
    blank lines between sentences, -DOCSTART- lines ignored) or from JSON lines of
    {"tokens": [...], "tags": [...]}."""
    text = _read_text(path)
    out = _Collector(path, skip_bad_examples)
    if text.lstrip().startswith("{"):
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                out.bad(f"line {number}", f"not JSON ({error.msg})")
                continue
            tokens, tags = record.get("tokens"), record.get("tags", record.get("ner_tags"))
            if not isinstance(tokens, list) or not isinstance(tags, list) or not tokens:
                out.bad(f"line {number}", "needs non-empty lists 'tokens' and 'tags'")
            elif len(tokens) != len(tags):
                out.bad(f"line {number}", f"{len(tokens)} tokens but {len(tags)} tags")
            else:
                out.examples.append(TaggingExample(tuple(map(str, tokens)), tuple(map(str, tags)),
                                                   out.where(f"line {number}")))
        return out.result()
    sentence, first_line, columns = [], None, None

    def flush():
        if sentence:
            out.examples.append(TaggingExample(tuple(w for w, _ in sentence), tuple(t for _, t in sentence),
                                               out.where(f"line {first_line}")))

    bad_sentence = False
    for number, line in enumerate(text.splitlines() + [""], 1):
        fields = line.split()
        if not fields or fields[0] == "-DOCSTART-":
            if not bad_sentence:
                flush()
            sentence, columns, bad_sentence = [], None, False
            continue
        if bad_sentence:
            continue
        if columns is None:
            columns, first_line = len(fields), number
        if len(fields) < 2:
            out.bad(f"line {number}", f"{line!r} has no tag column (expected: word ... tag)")
            bad_sentence = True
        elif len(fields) != columns:
            out.bad(f"line {number}", f"{len(fields)} columns, but the sentence starting at line {first_line} "
                                      f"has {columns}")
            bad_sentence = True
        else:
            sentence.append((fields[0], fields[-1]))
    return out.result()


# ------------------------------------------------------------------------------ multiple choice


def read_multiple_choice(path, skip_bad_examples=False):
    """SWAG-style CSV: a context (`sent1`, or `context`), the ending stem (`sent2`, or `stem`),
    `ending0`..`endingK` and `label`. Every row must have the same number of choices."""
    _read_text(path)
    out = _Collector(path, skip_bad_examples)
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        endings = sorted((c for c in header if c.startswith("ending") and c[6:].isdigit()), key=lambda c: int(c[6:]))
        context_column = "sent1" if "sent1" in header else "context" if "context" in header else None
        stem_column = "sent2" if "sent2" in header else "stem" if "stem" in header else None
        if context_column is None or len(endings) < 2:
            raise BadExampleError(f"{path}: the header {header} needs a context column (sent1 or context) and at "
                                  "least two ending columns (ending0, ending1, ...)")
        expected = None
        for number, row in enumerate(reader, 2):
            choices = [row.get(c) for c in endings]
            present = [c for c in choices if c not in (None, "")]
            if expected is None:
                expected = len(present)
            if len(present) != expected or len(present) != len([c for c in choices[:len(present)] if c]):
                out.bad(f"line {number}", f"{len(present)} choices, but the first row has {expected}")
                continue
            label = row.get("label")
            if label in (None, ""):
                label_id = None
            elif not label.strip().lstrip("-").isdigit() or not 0 <= int(label) < expected:
                out.bad(f"line {number}", f"label {label!r} is not a choice index in [0, {expected})")
                continue
            else:
                label_id = int(label)
            out.examples.append(ChoiceExample(row[context_column], row.get(stem_column, "") if stem_column else "",
                                              tuple(present), label_id, out.where(f"line {number}")))
    return out.result()
