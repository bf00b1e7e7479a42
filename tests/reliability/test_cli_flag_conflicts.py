"""Conflicting export CLI flags are refused with a message that says what is allowed."""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

CASES = [
    (["--verify=x", "--source=preset:electra_small"], "--verify cannot be combined with --source"),
    (["--gc", "--hub_root=h", "--source=preset:electra_small"], "--gc cannot be combined with --source"),
    (["--hub_root=h", "--source=preset:electra_small", "--vocab_file=a", "--sp_model_file=b"],
     "--vocab_file cannot be combined with --sp_model_file"),
    (["--hub_root=h", "--gc_dry_run"], "--gc_dry_run only applies to --gc"),
    (["--hub_root=h", "--source=hf:/some/dir", "--config_file=c.json"], "--config_file is only for tf1:/tf2:"),
]


@pytest.mark.parametrize("args,message", CASES, ids=[c[1].split(" ")[0] for c in CASES])
def test_conflicting_flags_are_refused_before_any_work(args, message, tmp_path):
    run = subprocess.run([sys.executable, "-m", "export", *args], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert run.returncode != 0
    assert message in run.stderr, run.stderr[-2000:]
    assert not any(tmp_path.iterdir()), "a refused command must not write anything"
