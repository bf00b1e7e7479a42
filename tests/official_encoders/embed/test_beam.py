"""The Beam pipeline (RunInference with our SavedModel) on the DirectRunner with 2 workers equals `encode`."""

import json

import numpy as np
import pytest

import official_encoders
from official_encoders.embed import beam as embed_beam
from tests.official_encoders.embed import helpers



def test_line_ranges_cover_every_line_once(tmp_path):
    source = tmp_path / "in.txt"
    source.write_bytes(b"a\n\nbb\nccc\n\nlast-without-newline")
    ranges, count = embed_beam.line_ranges(str(source), split_bytes=4)
    assert count == 6 and ranges[0][0] == 0 and ranges[-1][1] == source.stat().st_size
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    lines = [text for r in ranges for _, text in embed_beam.read_range(r, str(source), "text", "text", None, "strict")]
    assert lines == ["a", "", "bb", "ccc", "", "last-without-newline"]
    keys = [key for r in ranges for key, _ in embed_beam.read_range(r, str(source), "text", "text", None, "strict")]
    assert keys == [(i, i) for i in range(6)]


@pytest.mark.slow  # starts two worker processes, each loading TensorFlow and the model
def test_direct_runner_with_two_workers_equals_encode(tiny_bert_hub, tmp_path):
    pairs = [(given, raw) for given, raw in helpers.mixed_texts(seed=2, count=60)
             if isinstance(given, str) and not any(0xd800 <= ord(c) < 0xe000 for c in given)]
    texts = [given.replace("\n", " ") for given, _ in pairs]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"key": f"k{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    notes = []
    options = ["--runner=DirectRunner", "--direct_num_workers=2", "--direct_running_mode=multi_processing"]
    summary = embed_beam.run_beam(str(tiny_bert_hub["encoder"]), str(source), str(tmp_path / "out.jsonl"),
                                  pipeline_args=options, id_field="key", split_bytes=2048, batch_size=8,
                                  printer=notes.append)
    expected = official_encoders.encode(tiny_bert_hub["encoder"], texts, batch_size=8)
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == [f"k{i}" for i in range(len(texts))]
    np.testing.assert_allclose(np.array([r["embedding"] for r in records], np.float32), expected, atol=2e-5)
    assert summary.count == len(texts) and summary.truncated >= 1  # the 1 MB line
    assert not (tmp_path / "out.jsonl.parts").exists()
    assert int(notes[0].split(" in ")[1].split()[0]) > 2  # several work items for the two workers
