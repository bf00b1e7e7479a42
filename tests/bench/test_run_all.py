"""`make bench` runs every benchmark that writes a BENCHMARKS.md section."""

import pathlib

from bench import run_all

BENCH = pathlib.Path(run_all.__file__).parent


def test_every_benchmark_that_writes_a_section_is_run():
    writers = {f"bench.{p.stem}" for p in BENCH.glob("*.py")
               if "write_section(" in p.read_text() and p.stem != "results"}
    assert writers == {module for module, _ in run_all.BENCHMARKS}


def test_make_bench_runs_run_all():
    makefile = (BENCH.parent / "Makefile").read_text()
    assert "-m bench.run_all" in makefile
