"""Benchmarks (`make bench`): measured by scripts, never by timed tests."""

from local.lambda_runtime import put_layer_on_path

# The layer's package, as the local server and pytest see it (pyproject: pythonpath / mypy_path).
put_layer_on_path()
