"""Benchmarks (`make bench`): measured by scripts, never by timed tests."""

import sys
from pathlib import Path

# The layer's package, as the local server and pytest see it (pyproject: pythonpath / mypy_path).
_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "shared")
if _LAYER not in sys.path:
    sys.path.insert(0, _LAYER)
