"""The benchmark's pure helpers (the benchmark itself is `make bench`, never a test)."""

from pathlib import Path

from bench.coldstart import lambda_path
from bench.run import table, top_packages

IMPORTTIME = """import time: self [us] | cumulative | imported package
import time:       120 |        120 |   _io
import time:      3000 |       5000 | botocore
import time:      2000 |       2000 |   botocore.client
import time:      1500 |       1500 | pydantic
"""


def test_importtime_self_times_are_summed_per_top_level_package_biggest_first() -> None:
    assert top_packages(IMPORTTIME) == [("botocore", 5.0), ("pydantic", 1.5), ("_io", 0.12)]


def test_importtime_breakdown_keeps_only_the_top_packages() -> None:
    assert top_packages(IMPORTTIME, top=1) == [("botocore", 5.0)]


def test_lambda_path_puts_function_and_layer_before_the_stdlib_and_runtime_packages_after(tmp_path: Path) -> None:
    front, back = lambda_path(tmp_path / "Fn", tmp_path / "layer", tmp_path / "runtime")
    assert front == [str(tmp_path / "Fn"), str(tmp_path / "layer")]
    assert back == [str(tmp_path / "runtime")]


def test_floor_path_has_only_the_runtime_packages(tmp_path: Path) -> None:
    assert lambda_path(None, None, tmp_path) == ([], [str(tmp_path)])


def test_table_aligns_names_left_and_figures_right() -> None:
    assert table(["route", "ms"], [["GET /a", "1.5"], ["GET /longer", "10.0"]]).splitlines() == [
        "route          ms",
        "-----------  ----",
        "GET /a        1.5",
        "GET /longer  10.0",
    ]
