"""Fuzz harness for the preprocessing modules: python -m tests.reliability.fuzz_preprocessors --runs=N.

Each input is split into a batch of 0..4 byte strings and packed (1 or 2
segments) by both the WordPiece and the SentencePiece module; any exception,
broken packing invariant or input slower than --timeout seconds is a crash.
The default driver is atheris (coverage-guided libFuzzer over our Python
code; the per-input timeout is libFuzzer's -timeout). `--driver=random` is a
plain random-bytes driver for machines where atheris cannot be built.
Ends with one line: FUZZ_SUMMARY driver=... inputs=... crashes=... seconds=...
"""

import argparse
import os
import random
import sys
import tempfile
import time

COUNTS = {"inputs": 0, "crashes": 0}
START = time.monotonic()
MAX_LEN = 4096


def summary(driver):
    print(f"FUZZ_SUMMARY driver={driver} inputs={COUNTS['inputs']} crashes={COUNTS['crashes']} "
          f"seconds={time.monotonic() - START:.1f}", flush=True)


def feedback(outputs):
    """Branches on what the packing did (per-row lengths, [UNK]s, second-segment tokens), so that
    atheris' comparison tracing (libFuzzer -use_value_profile) rewards inputs that pack differently;
    the tokenizers themselves are C++ kernels without Python coverage."""
    mask = outputs["input_mask"].numpy()
    features = [int(v) for v in mask.sum(axis=1)] + [int(v) for v in outputs["input_type_ids"].numpy().sum(axis=1)]
    for value in features:
        if value == 0:
            continue
        if value < 4:
            continue
        if value < 8:
            continue
        if value < 15:
            continue
        if value == 16:
            continue


def make_target(modules, consume, run_and_check, driver, runs, observe=None):
    """The per-input function; `consume(data)` -> (texts, num_segments). Prints the summary after
    input number `runs` (libFuzzer ends the process without running atexit handlers)."""

    def one_input(data):
        texts, num_segments = consume(data)
        COUNTS["inputs"] += 1
        for module in modules.values():
            try:
                outputs = run_and_check(module, texts, num_segments)
                if observe is not None:
                    observe(outputs)
            except BaseException:
                COUNTS["crashes"] += 1
                summary(driver)
                raise
        if COUNTS["inputs"] == runs:
            summary(driver)
    return one_input


def split_with_provider(atheris):
    def consume(data):
        provider = atheris.FuzzedDataProvider(data)
        num_segments = provider.ConsumeIntInRange(1, 2)
        count = provider.ConsumeIntInRange(0, 4)
        texts = [provider.ConsumeBytes(provider.ConsumeIntInRange(0, len(data))) for _ in range(count - 1)]
        if count:
            texts.append(provider.ConsumeBytes(provider.remaining_bytes()))
        return texts, num_segments
    return consume


def run_atheris(modules, args):
    import atheris

    from tests.reliability.tiny_preprocessors import run_and_check
    seeds = os.path.join(args.artifacts, "seeds")
    os.makedirs(seeds, exist_ok=True)
    rng = random.Random(args.seed)
    for i in range(32):
        with open(os.path.join(seeds, f"seed_{i}"), "wb") as f:
            f.write(bytes([rng.randrange(256), rng.randrange(256)]) + random_bytes(rng))
    target = make_target(modules, split_with_provider(atheris), run_and_check, "atheris", args.runs,
                         observe=atheris.instrument_func(feedback))
    # The seed runs count as inputs, so libFuzzer's -runs is what is left after them.
    atheris.Setup([sys.argv[0], f"-runs={args.runs}", f"-timeout={args.timeout}", "-rss_limit_mb=0",
                   f"-max_len={MAX_LEN}", "-len_control=0", f"-artifact_prefix={args.artifacts}/",
                   "-use_value_profile=1", "-print_final_stats=1", seeds], target)
    atheris.Fuzz()  # libFuzzer exits the process when done


def random_bytes(rng):
    """Random bytes biased towards what breaks text code: invalid UTF-8, controls, whitespace, length."""
    pieces = [b"\x80", b"\xc3", b"\xed\xa0\x80", b"\xff", b"\x00", b"\t", b"\u3000".decode("unicode_escape").encode(),
              "ß".encode(), "中".encode(), b" ", b"##", b"[CLS]", b"[SEP]", b"[PAD]", b",", b"1,000"]
    out = bytearray()
    for _ in range(rng.randrange(40)):
        out += rng.choice(pieces) if rng.random() < 0.5 else bytes(rng.getrandbits(8) for _ in range(rng.randrange(8)))
    return bytes(out[:MAX_LEN])


def run_random(modules, args):
    rng = random.Random(args.seed)

    def consume(data):
        return data, rng.choice([1, 2])

    from tests.reliability.tiny_preprocessors import run_and_check
    target = make_target(modules, consume, run_and_check, "random", None)
    try:
        for _ in range(args.runs):
            started = time.monotonic()
            target([random_bytes(rng) for _ in range(rng.randrange(5))])
            if time.monotonic() - started > args.timeout:
                COUNTS["crashes"] += 1
                raise RuntimeError(f"an input took more than {args.timeout} s")
    finally:
        summary("random")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--timeout", type=int, default=60, help="seconds per input before it counts as a hang")
    parser.add_argument("--driver", choices=["atheris", "random"], default="atheris")
    parser.add_argument("--artifacts", default=tempfile.gettempdir(), help="where atheris writes crashing inputs")
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    from tests.reliability.tiny_preprocessors import build_modules

    modules = build_modules(tempfile.mkdtemp(prefix="fuzz_vocab-"))
    if args.driver == "atheris":
        try:
            import atheris  # noqa: F401
        except ImportError:
            print("atheris is not installed; using the random driver", file=sys.stderr)
            args.driver = "random"
    (run_atheris if args.driver == "atheris" else run_random)(modules, args)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
