"""Tests of the benchmark helpers (not of speed: benchmarks run in bench/)."""
