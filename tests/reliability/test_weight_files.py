"""Issue 6, files and faults: corrupt weight files are refused with the file and tensor named.

Hugging Face safetensors (truncated, flipped bits, wrong dtype or shape,
offsets outside the file), sharded indexes, PyTorch pickles (never unpickled
except with weights_only=True), and google-research TF1 checkpoints
(truncated or flipped .data / .index).

Flipped-bit tests flip random bits and require each result to be either
refused with a CorruptWeightsFile / ValueError naming the file or a tensor,
or loaded with exactly the original weights (a flip in bytes nothing reads).
"""

import json
import os
import pathlib
import pickle
import random

import numpy as np
import pytest

from official_encoders.checkpoints import CorruptWeightsFile, safetensors_file, tf1
from official_encoders.checkpoints.hf import load_hf
from official_encoders.checkpoints.mapping import expand
from official_encoders import build_encoder
from tests.official_encoders.checkpoints.hf_dirs import hf_tensors, write_hf_dir
from tests.official_encoders.checkpoints.tf1_writer import write_tf1_checkpoint
from tests.common.tiny_configs import tiny_config
from tests.reliability import forms

WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"


@pytest.fixture(scope="module")
def encoder():
    return build_encoder(tiny_config("bert"))


@pytest.fixture(scope="module")
def hf_dir(encoder, tmp_path_factory):
    return write_hf_dir(tmp_path_factory.mktemp("hf"), encoder, "bert")


def fresh_copy(hf_dir, tmp_path, name="copy"):
    """A writable copy of the tiny HF directory; returns (dir, its model.safetensors)."""
    target = tmp_path / name
    target.mkdir()
    for f in hf_dir.iterdir():
        (target / f.name).write_bytes(f.read_bytes())
    return target, target / "model.safetensors"


def split_safetensors(path):
    raw = pathlib.Path(path).read_bytes()
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def write_safetensors(path, header, data, header_size=None):
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    size = len(text) if header_size is None else header_size
    pathlib.Path(path).write_bytes(size.to_bytes(8, "little") + text + data)


def same_weights(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))


@pytest.fixture
def bounded_reads(monkeypatch):
    """Records every read the header check makes and fails the test if one reaches past the end of
    the file; also makes sure the safetensors library is never handed a refused file."""
    reads = []

    class Watched:
        def __init__(self, path, mode="r", *args, **kwargs):
            self._file = open(path, mode, *args, **kwargs)
            self._size = os.fstat(self._file.fileno()).st_size

        def read(self, n=-1):
            assert n >= 0, "unbounded read"
            start = self._file.tell()
            assert start + n <= self._size, f"read of {n} bytes at {start} past the end ({self._size})"
            reads.append((start, n))
            return self._file.read(n)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._file.close()

    monkeypatch.setattr(safetensors_file, "open", Watched, raising=False)
    import safetensors

    def library_must_not_open(*args, **kwargs):
        raise AssertionError("the safetensors library was handed a file the header check should refuse")

    monkeypatch.setattr(safetensors, "safe_open", library_must_not_open)
    return reads


# ---- safetensors: truncation, hostile headers ---------------------------------------------------------------------

def test_truncated_safetensors_are_refused_without_reading_past_the_end(hf_dir, tmp_path, bounded_reads):
    directory, path = fresh_copy(hf_dir, tmp_path)
    original = path.read_bytes()
    header_size = int.from_bytes(original[:8], "little")
    refused = 0
    for keep in (0, 3, 8, 9, 8 + header_size // 2, 8 + header_size, 8 + header_size + 100, len(original) - 1):
        path.write_bytes(original[:keep])
        with pytest.raises(CorruptWeightsFile, match=str(path)) as caught:
            load_hf(directory)
        message = str(caught.value)
        if keep > 8 + header_size:  # the header is intact: the first tensor cut off is named
            assert "past the end of the data section" in message and "tensor '" in message
        refused += 1
    forms.record("safetensors truncated", tried=refused, refused=refused)


@pytest.mark.parametrize("header_size", [2**64 - 1, 2**63, 10**12])
def test_header_length_beyond_the_file_is_refused(hf_dir, tmp_path, bounded_reads, header_size):
    directory, path = fresh_copy(hf_dir, tmp_path)
    header, data = split_safetensors(path)
    write_safetensors(path, header, data, header_size=header_size)
    with pytest.raises(CorruptWeightsFile, match=f"header length {header_size} exceeds"):
        load_hf(directory)
    assert all(n <= 8 for _, n in bounded_reads)  # only the length field was read


@pytest.mark.parametrize("change, message", [
    (lambda e, size: e.update(data_offsets=[e["data_offsets"][0], size + 64]), "past the end of the data section"),
    (lambda e, size: e.update(data_offsets=[size + 64, size + 128]), "past the end of the data section"),
    (lambda e, size: e.update(data_offsets=[2**70, 2**70 + 4]), "past the end of the data section"),
    (lambda e, size: e.update(data_offsets=[8, 4]), "expected \\[begin, end\\]"),
    (lambda e, size: e.update(data_offsets=[-4, 0]), "expected \\[begin, end\\]"),
    (lambda e, size: e.update(data_offsets="0-4"), "expected \\[begin, end\\]"),
    (lambda e, size: e.update(dtype="F16"), "bytes but dtype F16 and shape .* need"),
    (lambda e, size: e.update(dtype="F33"), "unknown dtype 'F33'"),
    (lambda e, size: e.update(shape=[e["shape"][0] + 1, e["shape"][1]]), "bytes but dtype F32 and shape"),
    (lambda e, size: e.update(shape=[-1, 16]), "expected a list of non-negative ints"),
    (lambda e, size: e.update(extra=1), "expected keys dtype, shape, data_offsets"),
])
def test_hostile_header_entries_are_refused_with_the_tensor_named(hf_dir, tmp_path, bounded_reads, change, message):
    directory, path = fresh_copy(hf_dir, tmp_path)
    header, data = split_safetensors(path)
    change(header[WORD_EMBEDDINGS], len(data))
    write_safetensors(path, header, data)
    with pytest.raises(CorruptWeightsFile, match=message) as caught:
        load_hf(directory)
    assert f"tensor '{WORD_EMBEDDINGS}'" in str(caught.value)


def test_overlapping_tensors_are_refused(hf_dir, tmp_path, bounded_reads):
    directory, path = fresh_copy(hf_dir, tmp_path)
    header, data = split_safetensors(path)
    other = "encoder.layer.0.output.dense.bias"  # smaller than the word embeddings: fits inside them
    width = header[other]["data_offsets"][1] - header[other]["data_offsets"][0]
    start = header[WORD_EMBEDDINGS]["data_offsets"][0] + 4
    header[other]["data_offsets"] = [start, start + width]
    write_safetensors(path, header, data)
    with pytest.raises(CorruptWeightsFile, match="overlap in the data section"):
        load_hf(directory)


@pytest.mark.parametrize("text", [b"", b"[1, 2]", b"{\"a\": 1,}", b"\xff\xfe{}", b'{"__metadata__": 5}',
                                  b'{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
                                  b'"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}'])
def test_malformed_header_json_is_refused(tmp_path, bounded_reads, text):
    path = tmp_path / "model.safetensors"
    path.write_bytes(len(text).to_bytes(8, "little") + text + b"\0" * 8)
    with pytest.raises(CorruptWeightsFile, match=f"{path} is not a valid safetensors file"):
        safetensors_file.read_header(path)


# ---- safetensors: wrong dtype / shape that are self-consistent ----------------------------------------------------

def test_integer_weights_are_refused_with_the_tensor_named(encoder, tmp_path):
    tensors = hf_tensors(encoder, "bert")
    tensors[WORD_EMBEDDINGS] = tensors[WORD_EMBEDDINGS].astype("int32")
    directory = write_hf_dir(tmp_path / "int", encoder, "bert", replace=tensors)
    with pytest.raises(ValueError, match=f"tensor '{WORD_EMBEDDINGS}' has dtype I32; weights must be one of"):
        load_hf(directory)


def test_wrong_shape_is_refused_with_the_tensor_named(encoder, tmp_path):
    tensors = hf_tensors(encoder, "bert")
    tensors[WORD_EMBEDDINGS] = np.ascontiguousarray(tensors[WORD_EMBEDDINGS].reshape(50, 32))
    directory = write_hf_dir(tmp_path / "shape", encoder, "bert", replace=tensors)
    with pytest.raises(ValueError, match=f"source tensor '{WORD_EMBEDDINGS}' has shape \\(50, 32\\)"):
        load_hf(directory)


def test_bfloat16_and_float16_weights_still_load(encoder, tmp_path):
    """The checks refuse only what is wrong: half-precision files of the same weights load."""
    tensors = {k: v.astype("float16") for k, v in hf_tensors(encoder, "bert").items()}
    directory = write_hf_dir(tmp_path / "half", encoder, "bert", replace=tensors)
    loaded = load_hf(directory).encoder
    for ours, theirs in zip(encoder.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(ours, theirs, atol=2e-3)


# ---- safetensors: flipped bits --------------------------------------------------------------------------------------

def _flip_bits(path, positions, rng):
    raw = bytearray(path.read_bytes())
    for position in positions:
        raw[position] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(raw))


def _load_or_refusal(load, directory):
    """'refused' with the message, or the loaded encoder."""
    try:
        return load(directory)
    except (CorruptWeightsFile, ValueError, KeyError) as e:
        return e


def test_flipped_bits_in_the_header_are_refused_or_harmless(encoder, hf_dir, tmp_path):
    rng = random.Random(6)
    directory, path = fresh_copy(hf_dir, tmp_path)
    original = path.read_bytes()
    header_end = 8 + int.from_bytes(original[:8], "little")
    positions = rng.sample(range(header_end), forms.scale(25, min(600, header_end)))
    refused = harmless = 0
    for position in positions:
        path.write_bytes(original)
        _flip_bits(path, [position], rng)
        outcome = _load_or_refusal(load_hf, directory)
        if isinstance(outcome, Exception):
            message = str(outcome)
            assert str(path) in message or "tensor" in message or "safetensors" in message, message
            refused += 1
        else:
            assert same_weights(outcome.encoder, encoder), f"flip at byte {position} changed the weights silently"
            harmless += 1
    forms.record("safetensors header bit flips", tried=len(positions), refused=refused, harmless=harmless)
    assert refused > harmless


def test_flipped_bits_in_the_data_that_make_non_finite_weights_are_refused(hf_dir, tmp_path):
    directory, path = fresh_copy(hf_dir, tmp_path)
    header, data = split_safetensors(path)
    entry = header["encoder.layer.1.output.dense.weight"]
    begin = len(path.read_bytes()) - len(data) + entry["data_offsets"][0]
    raw = bytearray(path.read_bytes())
    raw[begin + 3] |= 0x7F  # the float's exponent bits: all ones -> Inf or NaN
    raw[begin + 2] |= 0x80
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptWeightsFile, match="tensor 'encoder.layer.1.output.dense.weight' has 1 non-finite"):
        load_hf(directory)


# ---- sharded index ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("index, message", [
    ("not json", "is not a valid index"),
    ('{"weights": {}}', "is not a valid index"),
    ('{"weight_map": {"a": "../outside.safetensors"}}', "shards must be plain file names"),
    ('{"weight_map": {"a": "/etc/passwd"}}', "shards must be plain file names"),
])
def test_bad_shard_index_is_refused(hf_dir, tmp_path, index, message):
    directory, path = fresh_copy(hf_dir, tmp_path)
    (directory / "model.safetensors.index.json").write_text(index)
    with pytest.raises(ValueError, match=message):
        load_hf(directory)


# ---- PyTorch pickles ------------------------------------------------------------------------------------------------

class _RunsCode:
    """Unpickling this runs a shell command that creates a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_malicious_pickle_is_refused_and_never_runs(encoder, tmp_path):
    torch = pytest.importorskip("torch")
    # Control: the payload is live. An unsafe load (never done by our code) runs it.
    control_marker = tmp_path / "control_ran"
    torch.save({WORD_EMBEDDINGS: _RunsCode(control_marker)}, tmp_path / "control.bin")
    torch.load(tmp_path / "control.bin", weights_only=False)
    assert control_marker.exists()

    marker = tmp_path / "payload_ran"
    for kind in ("zip", "legacy_pickle"):
        directory = tmp_path / kind
        directory.mkdir()
        (directory / "config.json").write_text(json.dumps(encoder.config.to_hf_config()))
        payload = {WORD_EMBEDDINGS: _RunsCode(marker)}
        if kind == "zip":
            torch.save(payload, directory / "pytorch_model.bin")
        else:
            (directory / "pytorch_model.bin").write_bytes(pickle.dumps(payload))
        with pytest.raises(ValueError, match="refused to unpickle .*pytorch_model.bin.*weights_only=True"):
            load_hf(directory)
        assert not marker.exists(), "the pickle's code ran"


def test_truncated_and_good_torch_files(encoder, tmp_path):
    torch = pytest.importorskip("torch")
    directory = tmp_path / "torch"
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps(encoder.config.to_hf_config()))
    state = {k: torch.from_numpy(v) for k, v in hf_tensors(encoder, "bert").items()}
    torch.save(state, directory / "pytorch_model.bin")
    assert same_weights(load_hf(directory).encoder, encoder)  # a plain state dict loads
    raw = (directory / "pytorch_model.bin").read_bytes()
    (directory / "pytorch_model.bin").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CorruptWeightsFile, match="pytorch_model.bin is not a readable PyTorch weights file"):
        load_hf(directory)


# ---- TF1 checkpoints ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tf1_checkpoint(encoder, tmp_path_factory):
    """A google-research-named checkpoint of the tiny encoder and its bert_config.json."""
    values = {v.path: v.numpy() for v in encoder.weights}
    weights = {row.source: values[row.target] for row in expand(tf1.BERT_TABLE, 2, source_prefix="bert/")
               if row.target in values}
    directory = tmp_path_factory.mktemp("tf1")
    write_tf1_checkpoint(weights, str(directory / "bert_model.ckpt"), with_optimizer_slots=False)
    config = directory / "bert_config.json"
    config.write_text(json.dumps(encoder.config.to_bert_config_json()))
    return directory


def _tf1_copy(tf1_checkpoint, tmp_path):
    target = tmp_path / "ckpt"
    target.mkdir()
    for f in tf1_checkpoint.iterdir():
        (target / f.name).write_bytes(f.read_bytes())
    data = next(target.glob("bert_model.ckpt.data-*"))
    return target, target / "bert_model.ckpt.index", data


def _load_tf1(directory):
    return tf1.load_tf1(str(directory / "bert_model.ckpt"), str(directory / "bert_config.json"))


def test_tf1_checkpoint_loads(encoder, tf1_checkpoint):
    assert same_weights(_load_tf1(tf1_checkpoint).encoder, encoder)


@pytest.mark.parametrize("which", ["index", "data"])
def test_truncated_tf1_files_are_refused_naming_the_file(tf1_checkpoint, tmp_path, which):
    directory, index, data = _tf1_copy(tf1_checkpoint, tmp_path)
    path = index if which == "index" else data
    original = path.read_bytes()
    cuts = (0, len(original) // 3, len(original) - 1)
    for keep in cuts:
        path.write_bytes(original[:keep])
        with pytest.raises(CorruptWeightsFile, match=str(path).replace(".", r"\.")) as caught:
            _load_tf1(directory)
        if which == "data":
            assert "tensor '" in str(caught.value)
    forms.record(f"tf1 truncated .{which}", tried=len(cuts), refused=len(cuts))


@pytest.mark.parametrize("which", ["index", "data"])
def test_flipped_bits_in_tf1_files_are_refused_or_harmless(encoder, tf1_checkpoint, tmp_path, which):
    rng = random.Random(16 if which == "index" else 61)
    directory, index, data = _tf1_copy(tf1_checkpoint, tmp_path)
    path = index if which == "index" else data
    original = path.read_bytes()
    positions = rng.sample(range(len(original)), forms.scale(12, min(300, len(original))))
    refused = harmless = 0
    for position in positions:
        path.write_bytes(original)
        _flip_bits(path, [position], rng)
        outcome = _load_or_refusal(_load_tf1, directory)
        if isinstance(outcome, Exception):
            assert "bert_model.ckpt" in str(outcome) or "tensor" in str(outcome), str(outcome)
            refused += 1
        else:
            assert same_weights(outcome.encoder, encoder), f"flip at byte {position} changed the weights silently"
            harmless += 1
    forms.record(f"tf1 .{which} bit flips", tried=len(positions), refused=refused, harmless=harmless)
    if which == "data":
        assert harmless == 0  # every data byte is covered by a CRC32C


def test_truncated_tf2_checkpoint_is_refused_naming_file_and_tensor(encoder, tmp_path):
    from official_encoders.checkpoints import tf2

    prefix = tf2.save_tf2(encoder, str(tmp_path / "ckpt"))
    config = tmp_path / "encoder_config.json"
    config.write_text(encoder.config.to_json())
    assert same_weights(tf2.load_tf2(prefix, str(config)).encoder, encoder)
    data = next(tmp_path.glob("ckpt.data-*"))
    data.write_bytes(data.read_bytes()[:100])
    with pytest.raises(CorruptWeightsFile, match=rf"tensor '.*' could not be read from {data}"):
        tf2.load_tf2(prefix, str(config))
