"""Input readers and output writers of `python -m official_encoders.embed`, streaming.

Inputs: a text file (one passage a line) or JSON lines (`text_field`, and an
optional `id_field`). Lines are split on "\\n" only (a trailing "\\r" is
dropped), so an empty line is an empty text, not a lost one. A line that is
not UTF-8 stops the run with an error naming the file and line, unless
`decode_errors="replace"`, which hands its bytes to the tokenizer (invalid
bytes become U+FFFD there).

Outputs: `.npy` (float32 [N, H], row i is record i) or `.jsonl` (one
`{"id": ..., "embedding": [...]}` a line, in input order). The work is done in
shards of `shard_size` records, each written atomically to
`<output>.parts/`; the final file is assembled from them shard by shard, so
memory stays flat however large the input. `--resume` keeps finished shards,
and refuses if the input or settings changed since they were written.
"""

import json
import os
import pathlib
import shutil

import numpy as np

from official_encoders.fileio.atomic import atomic_file

INPUT_FORMATS = ("text", "jsonl")
OUTPUT_FORMATS = ("npy", "jsonl")
DECODE_ERRORS = ("strict", "replace")
_STATE = "state.json"


class InputError(ValueError):
    """The input file cannot be read as asked; the message names the file and line."""


def format_for(path, given, choices, what):
    """`given`, or the format `path`'s extension names (.jsonl/.json -> jsonl, .npy -> npy, else text)."""
    if given:
        if given not in choices:
            raise ValueError(f"--{what}_format={given!r}: use one of {', '.join(choices)}.")
        return given
    suffix = pathlib.Path(path).suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if what == "output":
        if suffix == ".npy":
            return "npy"
        raise ValueError(f"--output={path}: end it in .npy or .jsonl, or pass --output_format.")
    return "text"


def read_records(path, input_format="text", text_field="text", id_field=None, decode_errors="strict"):
    """Yields (id, text) for every line of `path`; id is the `id_field` value or the 0-based line index."""
    if decode_errors not in DECODE_ERRORS:
        raise ValueError(f"decode_errors={decode_errors!r}: use one of {', '.join(DECODE_ERRORS)}.")
    with open(path, "rb") as f:
        for index, line in enumerate(f):
            yield parse_line(line, path, index, input_format, text_field, id_field, decode_errors)


def parse_line(line, path, index, input_format="text", text_field="text", id_field=None,
               decode_errors="strict"):
    """(id, text) for line `index` (0-based) of `path`, as bytes with or without its "\\n"."""
    line = line[:-1] if line.endswith(b"\n") else line
    line = line[:-1] if line.endswith(b"\r") else line
    if input_format == "text":
        return index, _decode(line, path, index, decode_errors)
    return _json_record(line, path, index, text_field, id_field, decode_errors)


def _decode(line, path, index, decode_errors):
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as error:
        if decode_errors == "replace":
            return line  # bytes: the tokenizer replaces what is not UTF-8
        raise InputError(
            f"{path} line {index + 1} is not UTF-8 ({error.reason} at byte {error.start} of the line: "
            f"{line[max(0, error.start - 10):error.start + 10]!r}). Convert the file to UTF-8 "
            "(e.g. iconv -f latin1 -t utf-8), or pass --decode_errors=replace.") from None


def _json_record(line, path, index, text_field, id_field, decode_errors):
    text = _decode(line, path, index, decode_errors)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{path} line {index + 1} is not JSON ({error.msg} at column {error.colno}); "
                         "pass one JSON object a line, or --input_format=text.") from None
    if not isinstance(record, dict) or not isinstance(record.get(text_field), str):
        found = sorted(record) if isinstance(record, dict) else type(record).__name__
        raise InputError(f"{path} line {index + 1} has no string field {text_field!r} (found: {found}); "
                         "pass --text_field with the field that holds the text.")
    if id_field is None:
        return index, record[text_field]
    if id_field not in record:
        raise InputError(f"{path} line {index + 1} has no field {id_field!r}; pass --id_field with a field "
                         "every line has, or leave it unset for line indices.")
    return record[id_field], record[text_field]


def shards(records, shard_size):
    """Groups (id, text) records into lists of `shard_size` (the last may be shorter)."""
    batch = []
    for record in records:
        batch.append(record)
        if len(batch) == shard_size:
            yield batch
            batch = []
    if batch:
        yield batch


class ShardStore:
    """`<output>.parts/`: one `NNNNN.npy` (+ `NNNNN.json`: ids, truncated count) per finished shard, and state.json.

    state.json holds `settings` (input identity, shard size, model and pooling);
    resuming with different settings is refused, since finished shards would
    no longer match.
    """

    def __init__(self, output, settings, resume):
        self.output = pathlib.Path(output)
        self.directory = pathlib.Path(f"{output}.parts")
        self.settings = dict(settings)
        state_path = self.directory / _STATE
        if self.output.exists():
            raise FileExistsError(f"{self.output} exists; choose another --output or delete it.")
        if not resume and any(self.directory.glob("*.npy")):
            raise FileExistsError(f"{self.directory} holds shards of an unfinished run; pass --resume "
                                  "to continue it, or delete the directory to start again.")
        if resume and state_path.is_file():
            saved = json.loads(state_path.read_text())["settings"]
            changed = sorted(k for k in set(saved) | set(self.settings) if saved.get(k) != self.settings.get(k))
            if changed:
                raise ValueError(f"--resume: {', '.join(changed)} changed since {self.directory} was written "
                                 f"(then: {', '.join(f'{k}={saved.get(k)!r}' for k in changed)}); rerun with "
                                 "the same input and flags, or delete the directory to start again.")
        self.directory.mkdir(parents=True, exist_ok=True)
        with atomic_file(state_path) as tmp:
            tmp.write_text(json.dumps({"settings": self.settings}, indent=2, sort_keys=True))

    def _path(self, k, suffix):
        return self.directory / f"{k:05d}{suffix}"

    def done(self, k):
        return self._path(k, ".npy").is_file()

    def write(self, k, ids, vectors, truncated):
        with atomic_file(self._path(k, ".json")) as tmp:
            tmp.write_text(json.dumps({"ids": ids, "truncated": int(truncated)}))
        with atomic_file(self._path(k, ".npy")) as tmp:  # written last: its presence marks the shard done
            with open(tmp, "wb") as f:
                np.save(f, np.asarray(vectors, np.float32))

    def truncated(self, k):
        return json.loads(self._path(k, ".json").read_text())["truncated"]

    def read(self, k):
        ids = json.loads(self._path(k, ".json").read_text())["ids"]
        return ids, np.load(self._path(k, ".npy"))

    def assemble(self, num_shards, output_format, dim):
        """Writes the final output from the shards, one at a time; removes the parts directory."""
        counts = [len(np.load(self._path(k, ".npy"), mmap_mode="r")) for k in range(num_shards)]
        with atomic_file(self.output) as tmp:
            if output_format == "npy":
                out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(sum(counts), dim))
                start = 0
                for k, count in enumerate(counts):
                    out[start:start + count] = self.read(k)[1]
                    start += count
                out.flush()
                del out
            else:
                with open(tmp, "w", encoding="utf-8") as f:
                    for k in range(num_shards):
                        ids, vectors = self.read(k)
                        for record_id, vector in zip(ids, vectors):
                            f.write(json.dumps({"id": record_id, "embedding": vector.tolist()}) + "\n")
        shutil.rmtree(self.directory)
        return sum(counts)


def input_identity(path):
    """What identifies an input file for --resume: its absolute path, size and modification time."""
    stat = os.stat(path)
    return {"input": os.path.abspath(path), "input_size": stat.st_size, "input_mtime_ns": stat.st_mtime_ns}
