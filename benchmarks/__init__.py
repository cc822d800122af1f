"""Benchmarks of fieldsync's sync paths: `python -m benchmarks --help`. Never run as tests."""
