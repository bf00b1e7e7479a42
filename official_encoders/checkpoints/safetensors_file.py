"""The one place that checks a safetensors file before any library reads it.

Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
({name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}),
then the data section; offsets are relative to its start. `read_header`
checks all of it against the file's size using only `os.stat` and the header
bytes, so a corrupt or hostile header is refused, with the tensor named,
before anything reads past the end of the file.
"""

import dataclasses
import json
import math
import os
from typing import Dict, Tuple

from official_encoders.checkpoints.report import CorruptWeightsFile

# Bytes per element of every dtype the format defines.
DTYPE_SIZES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1,
    "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1,
}
FLOAT_DTYPES = ("F64", "F32", "F16", "BF16")
MAX_HEADER_BYTES = 100 * 1024 * 1024  # the safetensors library's own limit
METADATA_KEY = "__metadata__"


@dataclasses.dataclass(frozen=True)
class TensorEntry:
    """One tensor's header entry; `begin`/`end` are absolute file offsets."""

    name: str
    dtype: str
    shape: Tuple[int, ...]
    begin: int
    end: int


def _refuse(path, problem):
    raise CorruptWeightsFile(
        f"{path} is not a valid safetensors file: {problem}. The file is corrupt or truncated; "
        f"download or convert it again")


def _reject_duplicates(pairs):
    keys = [k for k, _ in pairs]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"duplicate keys {duplicates}")
    return dict(pairs)


def _entry(path, name, raw, data_start, data_size):
    what = f"tensor {name!r}"
    if not isinstance(raw, dict) or set(raw) - {"dtype", "shape", "data_offsets"}:
        _refuse(path, f"{what} has header entry {raw!r}; expected keys dtype, shape, data_offsets")
    dtype, shape, offsets = raw.get("dtype"), raw.get("shape"), raw.get("data_offsets")
    if dtype not in DTYPE_SIZES:
        _refuse(path, f"{what} has unknown dtype {dtype!r}; allowed: {sorted(DTYPE_SIZES)}")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        _refuse(path, f"{what} has shape {shape!r}; expected a list of non-negative ints")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(type(o) is int for o in offsets) or not 0 <= offsets[0] <= offsets[1]):
        _refuse(path, f"{what} has data_offsets {offsets!r}; expected [begin, end] with 0 <= begin <= end")
    begin, end = offsets
    if end > data_size:
        _refuse(path, f"{what} has data_offsets [{begin}, {end}] past the end of the data section "
                      f"({data_size} bytes)")
    expected = math.prod(shape) * DTYPE_SIZES[dtype]
    if end - begin != expected:
        _refuse(path, f"{what} has {end - begin} bytes but dtype {dtype} and shape {shape} need {expected}")
    return TensorEntry(name, dtype, tuple(shape), data_start + begin, data_start + end)


def read_header(path) -> Dict[str, TensorEntry]:
    """The checked tensor entries of a safetensors file, by name; raises CorruptWeightsFile."""
    path = os.fspath(path)
    size = os.stat(path).st_size
    if size < 8:
        _refuse(path, f"it has {size} bytes, fewer than the 8-byte header length")
    with open(path, "rb") as f:
        header_size = int.from_bytes(f.read(8), "little")
        if header_size > size - 8:
            _refuse(path, f"the header length {header_size} exceeds the {size - 8} bytes after it "
                          f"(truncated file?)")
        if header_size > MAX_HEADER_BYTES:
            _refuse(path, f"the header length {header_size} exceeds the {MAX_HEADER_BYTES}-byte limit")
        header_bytes = f.read(header_size)
    try:
        header = json.loads(header_bytes.decode("utf-8"), object_pairs_hook=_reject_duplicates)
    except (UnicodeDecodeError, ValueError) as e:
        _refuse(path, f"its {header_size}-byte header is not valid UTF-8 JSON ({e})")
    if not isinstance(header, dict):
        _refuse(path, f"its header is a JSON {type(header).__name__}, not an object")
    metadata = header.pop(METADATA_KEY, {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        _refuse(path, f"its {METADATA_KEY} is {metadata!r}; expected an object of strings")
    data_start = 8 + header_size
    data_size = size - data_start
    entries = {name: _entry(path, name, raw, data_start, data_size) for name, raw in header.items()}
    previous = None
    for entry in sorted(entries.values(), key=lambda e: (e.begin, e.end)):
        if previous is not None and entry.begin < previous.end:
            _refuse(path, f"tensors {previous.name!r} and {entry.name!r} overlap in the data section")
        previous = entry
    return entries
