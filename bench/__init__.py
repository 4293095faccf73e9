"""Benchmarks: run each from the repo root as a module, e.g. `.venv/bin/python -m bench.pipeline`."""
