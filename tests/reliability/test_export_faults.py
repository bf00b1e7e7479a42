"""The exporter under faults (issue 6): SIGKILL at random points, concurrent exports of one
model, a full disk, corrupted published artifacts, and the --check_inputs switch.

Short form (CI): 3 kills, 3 concurrent exports, 1 disk-full level. Long form
(RELIABILITY_LONG=1): 20 kills, 8 concurrent exports, 4 disk-full levels.
"""

import contextlib
import hashlib
import os
import pathlib
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest

from export import pipeline
from tests.export import tiny_models
from tests.reliability import forms
from export.publish.staging import directory_size
from official_encoders.hub.layout import LOCK_NAME, published_versions
from official_encoders.hub.manifest import manifest_problems, read_manifest

ROOT = pathlib.Path(os.path.abspath(__file__)).parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def tiny_hf(tmp_path_factory):
    """A Hugging Face directory of a tiny BERT with its MLM head and vocab.txt."""
    from tests.official_encoders.checkpoints.hf_dirs import write_hf_dir

    result = tiny_models.tiny_result("bert", "mlm")
    directory = write_hf_dir(tmp_path_factory.mktemp("hf") / "bert", result.model, "bert", head="mlm")
    tiny_models.write_vocab(directory)
    return directory


def _args(tiny_hf, hub, *extra):
    return [sys.executable, "-m", "export", f"--source=hf:{tiny_hf}", "--export_type=all",
            f"--hub_root={hub}", "--name=m", "--seq_length=32", *extra]


def _run(args, **kw):
    return subprocess.run(args, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600, **kw)


def _version_dirs(hub):
    return sorted(p for p in hub.rglob("*") if p.is_dir() and p.name.isdigit()
                  and not any(part.startswith(".tmp-") for part in p.relative_to(hub).parts))


def _snapshot(hub):
    """sha256 of every file of every published version (to prove nothing is overwritten)."""
    return {str(p.relative_to(hub)): hashlib.sha256(p.read_bytes()).hexdigest()
            for d in _version_dirs(hub) for p in d.rglob("*") if p.is_file()}


def _assert_only_complete_versions(hub):
    for directory in _version_dirs(hub):
        assert manifest_problems(directory, require=True) == [], directory
        number = directory.name
        assert (directory.parent / f"{number}.tar.gz").is_file(), directory
        relative = directory.parent.relative_to(hub)
        card = hub / "docs" / relative.parts[0] / "models" / pathlib.Path(*relative.parts[1:]) / f"{number}.md"
        assert card.is_file(), card


def test_sigkill_at_random_points_never_shows_a_partial_version(tiny_hf, tmp_path):
    hub = tmp_path / "hub"
    start = time.perf_counter()
    first = _run(_args(tiny_hf, hub))
    duration = time.perf_counter() - start
    assert first.returncode == 0, first.stderr[-3000:]
    rng = random.Random(6)
    kills = forms.scale(3, 20)
    killed_at, finished_before_kill = [], 0
    while len(killed_at) < kills:
        assert len(killed_at) + finished_before_kill < 2 * kills, "exports keep finishing before the kill"
        before = _snapshot(hub)
        proc = subprocess.Popen(_args(tiny_hf, hub), cwd=ROOT, env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        delay = rng.uniform(0.2, duration)
        try:
            _, err = proc.communicate(timeout=delay)
            assert proc.returncode == 0, err[-3000:]  # an export that was not killed must succeed
            finished_before_kill += 1
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=60)
            killed_at.append(round(delay, 2))
        after = _snapshot(hub)
        assert {k: v for k, v in after.items() if k in before} == before  # nothing published was changed
        _assert_only_complete_versions(hub)
    stray = list(hub.rglob(".tmp-*"))
    gc = _run([sys.executable, "-m", "export", "--gc", "--gc_older_than=0", f"--hub_root={hub}"])
    assert gc.returncode == 0, gc.stderr
    assert list(hub.rglob(".tmp-*")) == []
    published = published_versions(hub, "local", "m")
    last = _run(_args(tiny_hf, hub))
    assert last.returncode == 0, last.stderr[-3000:]
    assert published_versions(hub, "local", "m") == published + [published[-1] + 1]
    assert published == list(range(1, len(published) + 1))
    _assert_only_complete_versions(hub)
    forms.record("export_kills", kills=len(killed_at), finished_before_kill=finished_before_kill,
                 export_seconds=round(duration, 1), kill_delays=killed_at, stray_temp_dirs=len(stray),
                 versions_after=len(published) + 1, partial_versions_seen=0)


def test_concurrent_exports_get_distinct_versions_or_refuse_cleanly(tiny_hf, tmp_path):
    hub = tmp_path / "hub"
    assert _run(_args(tiny_hf, hub)).returncode == 0
    before = _snapshot(hub)
    count = forms.scale(3, 8)
    procs = [subprocess.Popen(_args(tiny_hf, hub), cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(count)]
    results = [(p.communicate(timeout=900), p.returncode) for p in procs]
    ok = [out for (out, _), code in results if code == 0]
    refused = [err for (_, err), code in results if code != 0]
    for err in refused:
        assert "Nothing was published" in err, err[-2000:]
    versions = sorted(int(line.split()[2].rstrip(":")) for out in ok for line in out.splitlines()
                      if line.strip().startswith("encoder version"))
    assert versions == list(range(2, 2 + len(ok)))  # distinct, no gaps
    assert published_versions(hub, "local", "m") == [1, *versions]
    assert published_versions(hub, "local", "m_preprocess") == [1, *versions]
    after = _snapshot(hub)
    assert {k: v for k, v in after.items() if k in before} == before
    _assert_only_complete_versions(hub)
    assert list(hub.rglob(".tmp-*")) == []

    # The same explicit --version from several exporters: exactly one wins, the rest refuse.
    same = [subprocess.Popen(_args(tiny_hf, hub, "--version=50"), cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    same_results = [(p.communicate(timeout=900), p.returncode) for p in same]
    assert sorted(code for _, code in same_results) == [0, 1]
    loser_err = next(err for (_, err), code in same_results if code != 0)
    assert "already exists" in loser_err and "Nothing was published" in loser_err
    _assert_only_complete_versions(hub)
    forms.record("concurrent_exports", at_once=count, published=len(ok), refused=len(refused),
                 same_version_at_once=2, same_version_refused=1, overwritten=0)


@contextlib.contextmanager
def _small_disk(tmp_path, size_bytes):
    """A directory on a tmpfs of `size_bytes` (needs mount rights), else None."""
    mount_point = tmp_path / f"tmpfs-{uuid.uuid4().hex[:8]}"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(mount_point)],
                          capture_output=True)
    if done.returncode != 0:
        yield None
        return
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _limit_file_size(limit):
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


def test_disk_full_during_export_publishes_nothing_and_removes_temp_data(tiny_hf, tmp_path):
    reference = tmp_path / "reference"
    assert _run(_args(tiny_hf, reference)).returncode == 0
    needed = directory_size(reference)
    # Room for part of one export: the failure lands at a different stage at each level.
    fractions = forms.scale([0.3], [0.05, 0.3, 0.6, 0.9])
    outcomes = []
    with _small_disk(tmp_path, max(4 * needed, 1 << 20)) as disk:
        for fraction in fractions:
            if disk is not None:
                hub = disk / "hub"
                filler = disk / "filler"
                free = shutil.disk_usage(disk).free
                with open(filler, "wb") as f:  # leave `fraction` of one export free
                    f.write(b"\0" * max(0, free - int(fraction * needed)))
                done = _run(_args(tiny_hf, hub))
                filler.unlink()
                how = "tmpfs"
            else:
                hub = tmp_path / f"hub-{fraction}"
                done = _run(_args(tiny_hf, hub), preexec_fn=_limit_file_size(int(fraction * needed)))
                how = "RLIMIT_FSIZE"
            assert done.returncode == 1, done.stdout[-2000:]
            assert "export failed" in done.stderr and "Nothing was published" in done.stderr
            assert "No space left on device" in done.stderr or "File too large" in done.stderr \
                or "ENOSPC" in done.stderr or "EFBIG" in done.stderr, done.stderr[-3000:]
            assert _version_dirs(hub) == []
            assert list(hub.rglob(".tmp-*")) == []
            assert [p for p in hub.rglob("*") if p.is_file() and p.name != LOCK_NAME] == []
            outcomes.append(fraction)
        if disk is not None:
            # With the space back, the same place takes a complete export.
            assert _run(_args(tiny_hf, disk / "hub")).returncode == 0
            _assert_only_complete_versions(disk / "hub")
    forms.record("export_disk_full", method=how, levels=len(outcomes), free_fractions=outcomes,
                 export_bytes=needed, published=0, temp_left=0)


@pytest.fixture(scope="module")
def published_encoder(tiny_hf, tmp_path_factory):
    hub = tmp_path_factory.mktemp("hub")
    options = pipeline.ExportOptions(source=f"hf:{tiny_hf}", hub_root=str(hub), export_type="model", name="m")
    summary = pipeline.run_export(options, printer=lambda line: None)
    return pathlib.Path(summary.artifacts[0].path)


def _flip_byte(path, offset=None):
    data = bytearray(path.read_bytes())
    offset = len(data) // 2 if offset is None else offset
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


CORRUPTIONS = {
    "variables/variables.data-00000-of-00001": lambda p: _flip_byte(p),
    "assets/vocab.txt": lambda p: p.unlink(),
    "saved_model.pb": lambda p: p.write_bytes(p.read_bytes().replace(b"pooled_output", b"pooled_outpuT", 1)),
}


def test_verify_command_names_each_corrupted_file(published_encoder, tmp_path):
    intact = _run([sys.executable, "-m", "export", f"--verify={published_encoder}"])
    assert intact.returncode == 0 and "OK" in intact.stdout, intact.stderr
    for rel, corrupt in CORRUPTIONS.items():
        copy = tmp_path / rel.replace("/", "_")
        shutil.copytree(published_encoder, copy)
        target = copy / rel
        assert target.is_file()
        corrupt(target)
        done = _run([sys.executable, "-m", "export", f"--verify={copy}"])
        assert done.returncode == 1, done.stdout
        failed = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]
        assert len(failed) == 1 and failed[0].startswith(f"FAILED {rel}:"), done.stdout
        assert "does not match its MANIFEST.json" in done.stderr
    forms.record("corrupt_artifacts", cases=len(CORRUPTIONS), detected=len(CORRUPTIONS),
                 files=sorted(CORRUPTIONS))


def test_check_inputs_false_exports_no_input_checks_and_equal_outputs(tiny_hf, tmp_path):
    import tensorflow as tf

    from export import verify

    paths = {}
    for check in (True, False):
        options = pipeline.ExportOptions(source=f"hf:{tiny_hf}", hub_root=str(tmp_path), export_type="model_with_mlm",
                                         name=f"m_{check}", check_inputs=check)
        summary = pipeline.run_export(options, printer=lambda line: None)
        paths[check] = pathlib.Path(summary.artifacts[0].path)
        assert read_manifest(paths[check])["check_inputs"] is check
    messages = (b"input_word_ids must be in [0, vocab_size", b"input_type_ids must be in [0, type_vocab_size",
                b"input_mask values must be 0 or 1")
    checked_pb = (paths[True] / "saved_model.pb").read_bytes()
    unchecked_pb = (paths[False] / "saved_model.pb").read_bytes()
    for message in messages:
        assert message in checked_pb and message not in unchecked_pb
    checked, unchecked = tf.saved_model.load(str(paths[True])), tf.saved_model.load(str(paths[False]))
    inputs = verify.sample_inputs(100, 2)
    mlm_inputs = dict(inputs)
    inputs.pop("masked_lm_positions")
    a, b = checked(inputs), unchecked(inputs)
    for key in ("pooled_output", "sequence_output"):
        np.testing.assert_array_equal(a[key].numpy(), b[key].numpy())
    np.testing.assert_array_equal(checked.mlm(mlm_inputs)["mlm_logits"].numpy(),
                                  unchecked.mlm(mlm_inputs)["mlm_logits"].numpy())
    bad = dict(inputs, input_mask=tf.fill(tf.shape(inputs["input_mask"]), 2))
    with pytest.raises(tf.errors.InvalidArgumentError, match="input_mask values must be 0 or 1"):
        checked(bad)
    unchecked(bad)  # no check: runs (the caller promised valid ids)
