"""Benchmarks: run with `make bench` (or `python -m bench`); they print ratios, tests never time anything."""
