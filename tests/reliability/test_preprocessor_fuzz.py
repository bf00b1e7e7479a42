"""Issue 6, preprocessor fuzzing: random bytes, invalid UTF-8, 1 MB strings and strings of only control
characters or whitespace go through the WordPiece and SentencePiece PreprocessingModules without a crash
or hang, and every packed batch keeps the packing invariants (tiny_preprocessors.check_packed).

Two drivers: hypothesis here, and the atheris harness fuzz_preprocessors.py, run as a subprocess with a
per-input timeout (a hang inside a TensorFlow kernel cannot be interrupted in-process). The short form
runs a few thousand inputs; RELIABILITY_LONG=1 runs >= 100,000 through atheris.
"""

import os
import re
import subprocess
import sys
import time

import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.reliability import forms
from tests.reliability.tiny_preprocessors import SEQ_LENGTH, build_modules, run_and_check

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECONDS_PER_BATCH = 30  # generous on a shared 2-core machine; batches take milliseconds
SECONDS_PER_MEGABYTE = 120

_invalid_utf8 = st.builds(
    lambda text, junk: text.encode("utf-8", "surrogatepass") + junk,
    st.text(st.characters(categories=["Cs", "Lu", "Ll", "Lo", "Nd", "Po", "Mn"]), max_size=60),
    st.sampled_from([b"", b"\x80", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\xff\xfe", b"\xed\xa0\x80", b"\xc0\xaf"]))
_control_or_space = st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), max_size=80).map(str.encode)
STRINGS = st.one_of(
    st.binary(max_size=300),
    _invalid_utf8,
    _control_or_space,
    st.text(max_size=200).map(lambda t: t.encode("utf-8")),
)
BATCHES = st.lists(STRINGS, min_size=0, max_size=8)


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    return build_modules(tmp_path_factory.mktemp("fuzz_vocab"))


@pytest.fixture(scope="module")
def tally():
    counts = {"batches": 0, "strings": 0, "crashes": 0}
    yield counts
    forms.record("preprocessor fuzz (hypothesis)", **counts)


@settings(max_examples=forms.scale(300, 20000), deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(texts=BATCHES, kind=st.sampled_from(["wordpiece", "sentencepiece"]), num_segments=st.sampled_from([1, 2]))
def test_random_batches_keep_the_packing_invariants(modules, tally, texts, kind, num_segments):
    start = time.monotonic()
    try:
        run_and_check(modules[kind], texts, num_segments)
    except Exception:
        tally["crashes"] += 1
        raise
    assert time.monotonic() - start < SECONDS_PER_BATCH
    tally["batches"] += 1
    tally["strings"] += len(texts) * num_segments


def _megabyte(kind):
    size = 2**20
    rng = __import__("random").Random(kind)
    return {
        "one_long_word": b"a" * size,
        "words": b"hello world, the cafe! " * (size // 23),
        "whitespace": b" \t\n\r\x0b\x0c\xc2\xa0\xe3\x80\x80" * (size // 11),
        "control": bytes(range(0, 32)) * (size // 32),
        "random_bytes": bytes(rng.getrandbits(8) for _ in range(size)),
        "invalid_utf8": b"\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc" * (size // 11),
    }[kind]


@pytest.mark.parametrize("kind", ["one_long_word", "words", "whitespace", "control", "random_bytes", "invalid_utf8"])
def test_one_megabyte_strings(modules, kind):
    text = _megabyte(kind)
    assert len(text) >= 2**20 - 32
    for name, module in modules.items():
        start = time.monotonic()
        run_and_check(module, [text, b"short"], num_segments=2)
        run_and_check(module, [text], num_segments=1)
        assert time.monotonic() - start < SECONDS_PER_MEGABYTE, (name, kind)


def test_empty_batch(modules):
    for module in modules.values():
        outputs = module(tf.constant([], tf.string))
        assert outputs["input_word_ids"].shape == (0, SEQ_LENGTH)


def test_atheris_harness(tmp_path):
    """Runs the atheris (or fallback) driver as a subprocess for a bounded number of inputs."""
    runs = forms.scale(2000, 100000)
    command = [sys.executable, "-m", "tests.reliability.fuzz_preprocessors", f"--runs={runs}",
               f"--artifacts={tmp_path}"]
    result = subprocess.run(command, cwd=REPO, env={**os.environ, "PYTHONPATH": REPO}, capture_output=True,
                            text=True, timeout=forms.scale(900, 14400))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    found = re.search(r"FUZZ_SUMMARY driver=(\w+) inputs=(\d+) crashes=(\d+) seconds=([\d.]+)", output)
    assert found, output[-5000:]
    driver, inputs, crashes, seconds = found.group(1), int(found.group(2)), int(found.group(3)), float(found.group(4))
    assert crashes == 0 and inputs >= runs, output[-3000:]
    forms.record("preprocessor fuzz (harness)", driver=driver, inputs=inputs, crashes=crashes, seconds=seconds)
