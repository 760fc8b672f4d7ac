"""Writes a copy of template.yaml whose functions and layer use the local Python and machine architecture.

`sam build` needs a Python of the template's runtime on PATH (python3.13 in AWS); this copy lets the build, and
the benchmarks that import the built artifacts, run on this machine. Nothing else in the template changes.
"""

import platform
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def local_copy(text: str) -> str:
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
    arch = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
    text = re.sub(r"\bpython3\.\d+\b", runtime, text)
    return re.sub(r"\barm64\b", arch, text)


def main() -> None:
    target = Path(sys.argv[1])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(local_copy((ROOT / "template.yaml").read_text()))


if __name__ == "__main__":
    main()
