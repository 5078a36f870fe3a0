"""Benchmarks: standalone measurements, run with `python -m benchmarks.<name>`."""
