"""Benchmarks (`make bench`): measured by scripts, never by timed tests."""
