"""Side-by-side benchmarks against peer libraries; results go in BENCHMARKS.md."""
