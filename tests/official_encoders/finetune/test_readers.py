"""The fine-tuning readers: every layout they accept, and each malformed form named by file and record."""

import json

import pytest

from official_encoders.finetune import readers

CONTEXT = "The Rhine flows through Basel. It reaches the North Sea near Rotterdam."


def _nested(qas):
    return {"version": "v2.0", "data": [{"title": "Rhine", "paragraphs": [{"context": CONTEXT, "qas": qas}]}]}


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return str(path)


def test_squad_nested_and_flat_layouts_give_the_same_questions(tmp_path):
    start = CONTEXT.index("Basel")
    nested = _write(tmp_path, "train.json", _nested([
        {"id": "q1", "question": "Where does the Rhine flow?", "answers": [{"text": "Basel", "answer_start": start}]},
        {"id": "q2", "question": "Who built it?", "answers": [], "is_impossible": True}]))
    flat_records = [
        {"id": "q1", "title": "Rhine", "context": CONTEXT, "question": "Where does the Rhine flow?",
         "answers": {"text": ["Basel"], "answer_start": [start]}},
        {"id": "q2", "title": "Rhine", "context": CONTEXT, "question": "Who built it?",
         "answers": {"text": [], "answer_start": []}}]
    flat_list = _write(tmp_path, "flat.json", flat_records)
    flat_lines = _write(tmp_path, "flat.jsonl", "\n".join(json.dumps(r) for r in flat_records))
    results = [readers.read_squad(p, version_2_with_negative=True).examples for p in (nested, flat_list, flat_lines)]
    assert results[0] == results[1] == results[2]
    assert results[0][0].answers == (("Basel", start),) and results[0][1].is_impossible


def test_squad_answer_not_at_its_start_is_named(tmp_path):
    path = _write(tmp_path, "bad.json", _nested([
        {"id": "q7", "question": "Where?", "answers": [{"text": "Basel", "answer_start": 3}]}]))
    with pytest.raises(readers.BadExampleError, match=r"bad\.json: .*id 'q7'.*'Basel' is not at answer_start 3"):
        readers.read_squad(path)


def test_squad_v1_refuses_unanswerable_and_skipping_counts_it(tmp_path):
    start = CONTEXT.index("Rotterdam")
    path = _write(tmp_path, "mixed.json", _nested([
        {"id": "a", "question": "Where does it reach the sea?", "answers": [{"text": "Rotterdam", "answer_start": start}]},
        {"id": "b", "question": "Who?", "answers": []},
        {"id": "c", "question": " ", "answers": [{"text": "Basel", "answer_start": CONTEXT.index("Basel")}]}]))
    with pytest.raises(readers.BadExampleError, match="id 'b'.*--version_2_with_negative"):
        readers.read_squad(path)
    result = readers.read_squad(path, skip_bad_examples=True)
    assert [e.id for e in result.examples] == ["a"]
    assert len(result.skipped) == 2 and "question is empty" in result.skipped[1]


def test_conll_columns_and_json_lines(tmp_path):
    conll = _write(tmp_path, "train.conll", "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n"
                                            "German JJ B-NP B-MISC\n\nPeter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n")
    jsonl = _write(tmp_path, "train.jsonl", '{"tokens": ["EU", "rejects", "German"], "tags": ["B-ORG", "O", "B-MISC"]}\n'
                                            '{"tokens": ["Peter", "Blackburn"], "tags": ["B-PER", "I-PER"]}\n')
    assert readers.read_tagging(conll).examples == readers.read_tagging(jsonl).examples
    assert readers.read_tagging(conll).examples[1] == readers.TaggingExample(("Peter", "Blackburn"), ("B-PER", "I-PER"))


def test_conll_sentence_whose_columns_differ_is_named_and_skippable(tmp_path):
    path = _write(tmp_path, "bad.conll", "EU NNP B-ORG\nrejects O\n\nPeter NNP B-PER\n")
    with pytest.raises(readers.BadExampleError, match=r"bad\.conll: line 2: 2 columns, but the sentence starting at "
                                                      r"line 1 has 3"):
        readers.read_tagging(path)
    result = readers.read_tagging(path, skip_bad_examples=True)
    assert [e.tokens for e in result.examples] == [("Peter",)] and len(result.skipped) == 1


def test_json_lines_length_mismatch_is_named(tmp_path):
    path = _write(tmp_path, "bad.jsonl", '{"tokens": ["a", "b"], "tags": ["O"]}\n')
    with pytest.raises(readers.BadExampleError, match="line 1: 2 tokens but 1 tags"):
        readers.read_tagging(path)


def test_swag_csv_and_a_varying_choice_count(tmp_path):
    good = _write(tmp_path, "swag.csv", "sent1,sent2,ending0,ending1,ending2,label\n"
                                        "She opens the door.,She,walks in.,flies away.,eats it.,0\n"
                                        "He picks up the ball.,He,throws it.,melts.,sings.,0\n")
    examples = readers.read_multiple_choice(good).examples
    assert examples[0] == readers.ChoiceExample("She opens the door.", "She", ("walks in.", "flies away.", "eats it."), 0)
    varying = _write(tmp_path, "varying.csv", "sent1,sent2,ending0,ending1,ending2,label\n"
                                              "A.,B,x,y,z,1\nC.,D,x,y,,1\n")
    with pytest.raises(readers.BadExampleError, match=r"varying\.csv: line 3: 2 choices, but the first row has 3"):
        readers.read_multiple_choice(varying)
    out_of_range = _write(tmp_path, "label.csv", "sent1,sent2,ending0,ending1,label\nA.,B,x,y,5\n")
    with pytest.raises(readers.BadExampleError, match=r"label '5' is not a choice index in \[0, 2\)"):
        readers.read_multiple_choice(out_of_range)


@pytest.mark.parametrize("reader", [readers.read_squad, readers.read_tagging, readers.read_multiple_choice])
def test_an_empty_file_is_an_error(tmp_path, reader):
    path = _write(tmp_path, "empty.txt", "\n  \n")
    with pytest.raises(readers.BadExampleError, match="empty.txt is empty"):
        reader(path)


def test_a_file_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "latin1.conll"
    path.write_bytes("Zürich B-LOC\n".encode("latin-1"))
    with pytest.raises(readers.BadExampleError, match="latin1.conll: not UTF-8"):
        readers.read_tagging(str(path))
