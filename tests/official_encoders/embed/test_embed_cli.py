"""python -m official_encoders.embed: readers, writers, shards, --resume, bad files, and the CLI itself."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import official_encoders
from official_encoders.embed import files, run
from official_encoders.embed.loading import load_encoder

ROOT = pathlib.Path(os.path.abspath(__file__)).parents[3]
LINES = ["hello world", "", "the quick brown fox jumps over the lazy dog " * 30, "a cat", "",
         "Größe 你好", "how do i reset my password", "the dog"]


@pytest.fixture(scope="module")
def tiny(tiny_bert_hub):
    return load_encoder(tiny_bert_hub["encoder"])


def _write_lines(path, lines, end=b"\n"):
    path.write_bytes(b"".join((line.encode() if isinstance(line, str) else line) + end for line in lines))
    return path


def _read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_text_file_to_npy_keeps_every_line_in_order(tiny, tmp_path):
    source = _write_lines(tmp_path / "in.txt", LINES, end=b"\r\n")
    summary = run.embed_file(tiny, source, tmp_path / "out.npy", shard_size=3, batch_size=2, printer=lambda _: None)
    vectors = np.load(tmp_path / "out.npy")
    np.testing.assert_allclose(vectors, official_encoders.encode(tiny, LINES), atol=2e-5)
    assert (summary.count, summary.encoded, summary.truncated) == (8, 8, 1)
    assert not (tmp_path / "out.npy.parts").exists()
    assert "embedded 8 texts" in summary.text() and "1 truncated" in summary.text()


def test_jsonl_to_jsonl_with_text_and_id_fields(tiny, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"doc": f"d{i}", "body": t}) + "\n" for i, t in enumerate(LINES)))
    run.embed_file(tiny, source, tmp_path / "out.jsonl", text_field="body", id_field="doc", shard_size=5,
                   printer=lambda _: None)
    records = _read_jsonl(tmp_path / "out.jsonl")
    assert [r["id"] for r in records] == [f"d{i}" for i in range(len(LINES))]
    np.testing.assert_allclose(np.array([r["embedding"] for r in records], np.float32),
                               official_encoders.encode(tiny, LINES), atol=2e-5)
    with pytest.raises(files.InputError, match=r"line 1 has no string field 'text' \(found: \['body', 'doc'\]\)"):
        run.embed_file(tiny, source, tmp_path / "again.jsonl", printer=lambda _: None)
    source.write_text('{"text": "fine"}\n{"text": \n')
    with pytest.raises(files.InputError, match="line 2 is not JSON"):
        run.embed_file(tiny, source, tmp_path / "broken.jsonl", printer=lambda _: None)


def test_zero_lines_and_a_file_that_is_not_utf8(tiny, tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    summary = run.embed_file(tiny, tmp_path / "empty.txt", tmp_path / "empty.npy", printer=lambda _: None)
    assert np.load(tmp_path / "empty.npy").shape == (0, 16) and summary.count == 0
    latin1 = _write_lines(tmp_path / "latin1.txt", [b"fine", b"caf\xe9 au lait", b"ok"])
    with pytest.raises(files.InputError, match=r"latin1.txt line 2 is not UTF-8 .*--decode_errors=replace"):
        run.embed_file(tiny, latin1, tmp_path / "latin1.npy", printer=lambda _: None)
    run.embed_file(tiny, latin1, tmp_path / "latin1.npy", decode_errors="replace", printer=lambda _: None)
    np.testing.assert_allclose(np.load(tmp_path / "latin1.npy"),
                               official_encoders.encode(tiny, [b"fine", b"caf\xe9 au lait", b"ok"]), atol=2e-5)


class _Killed(Exception):
    pass


def test_resume_keeps_finished_shards_and_refuses_changed_settings(tiny, tmp_path):
    source = _write_lines(tmp_path / "in.txt", LINES)
    output = tmp_path / "out.npy"

    def die_after_first_shard(line):
        raise _Killed(line)

    with pytest.raises(_Killed):
        run.embed_file(tiny, source, output, shard_size=3, printer=die_after_first_shard)
    first_shard = output.parent / "out.npy.parts" / "00000.npy"
    written = first_shard.stat().st_mtime_ns
    with pytest.raises(FileExistsError, match="pass --resume"):
        run.embed_file(tiny, source, output, shard_size=3, printer=lambda _: None)
    with pytest.raises(ValueError, match="--resume: shard_size changed"):
        run.embed_file(tiny, source, output, shard_size=4, resume=True, printer=lambda _: None)
    progress, first_shard_times = [], []

    def note(line):  # runs after each shard this run encodes, while the parts directory exists
        progress.append(line)
        first_shard_times.append(first_shard.stat().st_mtime_ns)

    summary = run.embed_file(tiny, source, output, shard_size=3, resume=True, printer=note)
    assert summary.shards_resumed == 1 and summary.encoded == 5 and summary.count == 8
    assert [line.split(":")[0] for line in progress] == ["shard 1", "shard 2"]
    assert summary.truncated == 1  # the long line is in the resumed shard; its count was kept
    assert first_shard_times == [written, written]  # kept as it was, not encoded again
    np.testing.assert_allclose(np.load(output), official_encoders.encode(tiny, LINES), atol=2e-5)
    with pytest.raises(FileExistsError, match="exists; choose another --output"):
        run.embed_file(tiny, source, output, printer=lambda _: None)


@pytest.mark.slow  # two subprocesses, each importing TensorFlow and loading the model
def test_cli_subprocess(tiny_bert_hub, tmp_path):
    source = _write_lines(tmp_path / "in.txt", LINES)
    command = [sys.executable, "-m", "official_encoders.embed", f"--model={tiny_bert_hub['encoder']}",
               f"--input={source}", f"--output={tmp_path / 'out.jsonl'}", "--shard_size=4", "--normalize"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "embedded 8 texts into" in done.stdout and "texts/s" in done.stdout and "1 truncated" in done.stdout
    records = _read_jsonl(tmp_path / "out.jsonl")
    assert [r["id"] for r in records] == list(range(8))
    expected = official_encoders.encode(tiny_bert_hub["encoder"], LINES, normalize=True)
    np.testing.assert_allclose(np.array([r["embedding"] for r in records]), expected, atol=2e-5)

    bad = _write_lines(tmp_path / "bad.txt", [b"ok", b"\xff"])
    done = subprocess.run(command[:4] + [f"--input={bad}", f"--output={tmp_path / 'bad.npy'}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "bad.txt line 2 is not UTF-8" in done.stderr
