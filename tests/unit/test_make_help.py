"""`make help` lists every target of the Makefile, one line each, from its `## ` comment."""

import re
import subprocess

from local.template import ROOT

MAKEFILE = ROOT / "Makefile"
_TARGET = re.compile(r"^([a-z][a-z-]*):(?!=)", re.MULTILINE)


def targets() -> list[str]:
    return _TARGET.findall(MAKEFILE.read_text())


def test_make_help_lists_every_target_once_with_what_it_does() -> None:
    # When a newcomer asks make for help
    listed = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    # Then each target of the Makefile is one line: its name, then what it does
    lines = listed.stdout.splitlines()
    names = [line.split()[0] for line in lines if line.strip()]
    assert sorted(names) == sorted(targets())
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines if line.strip()), listed.stdout
