"""`make bench`: runs every benchmark in bench/, each in its own process, and rewrites its
section of BENCHMARKS.md. A summary at the end lists each one's exit status and time.

    python -m bench.run_all [--only=bench_encoder,bench_export]
"""

import subprocess
import sys
import time

from absl import app
from absl import flags

# (module, arguments that make it write its BENCHMARKS.md section). profile_encoder is a
# diagnostic that prints a profile and writes no section, so it is not run here.
BENCHMARKS = (
    ("bench.bench_encoder", ["--write_results", "--rounds=5"]),
    ("bench.bench_preprocessing", ["--batch_size=1024", "--repeats=5", "--copies=4"]),
    ("bench.bench_hub_layer", ["--write"]),
    ("bench.bench_export", ["--write"]),
    ("bench.bench_embedding", ["--write"]),
    ("bench.bench_question_answering", ["--hf_all_threads", "--write"]),
    ("bench.bench_qa_training", ["--rounds=3", "--write"]),
)

FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_list("only", [], "Run only these benchmark modules (e.g. bench_encoder).")


def run_benchmarks(only=()):
    """Runs the selected benchmarks in turn; returns [(module, exit code, seconds)]."""
    results = []
    selected = [(m, a) for m, a in BENCHMARKS if not only or m.split(".")[-1] in only]
    for index, (module, args) in enumerate(selected, 1):
        print(f"[{index}/{len(selected)}] python -m {module} {' '.join(args)}", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, "-m", module, *args])
        results.append((module, code, time.perf_counter() - started))
    return results


def main(argv):
    del argv
    unknown = set(FLAGS.only) - {m.split(".")[-1] for m, _ in BENCHMARKS}
    if unknown:
        raise app.UsageError(f"--only: unknown benchmarks {sorted(unknown)}; known: "
                             f"{[m.split('.')[-1] for m, _ in BENCHMARKS]}")
    results = run_benchmarks(FLAGS.only)
    print("\nSummary:")
    for module, code, seconds in results:
        print(f"  {module}: {'ok' if code == 0 else f'FAILED (exit {code})'} in {seconds:.0f}s")
    sys.exit(0 if all(code == 0 for _, code, _ in results) else 1)


if __name__ == "__main__":
    define_flags()
    app.run(main)
