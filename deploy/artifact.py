"""`make artifact-check`: the artifact AWS runs (`make artifact`: sam build for arm64/python3.13, compiled), checked.

- every dependency of the layer is pure Python or built for the runtime (aarch64 ELF, CPython 3.13);
- each function with the layer fits Lambda's deployment limit (250 MB unzipped);
- every handler imports from the built artifact, with the function's environment, on this (3.13) Python. Compiled
  extensions for aarch64 cannot load on another machine: for those packages alone the venv's build of the same
  version (checked) stands in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

from samcli.yamlhelper import yaml_parse

from local import template

# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: function and layers, unzipped.
UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024
ELF_MAGIC = b"\x7fELF"
# What Lambda's Python runtime provides beside the function and its layers (the layer does not ship boto3).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
EM_AARCH64 = 183  # ELF e_machine of arm64


@dataclass(frozen=True)
class Artifact:
    root: Path
    functions: dict[str, Path]  # logical id -> its built code
    layer: Path  # what Lambda mounts at /opt (the packages in python/)

    @classmethod
    def read(cls, root: Path) -> Artifact:
        built = yaml_parse((root / "template.yaml").read_text())
        # Its Fn::ForEach loops stay as they are (lists): they hold no code.
        resources = {name: res for name, res in built["Resources"].items() if isinstance(res, dict)}
        functions = {
            name: root / res["Properties"]["CodeUri"]
            for name, res in resources.items()
            if res["Type"] == "AWS::Serverless::Function"
        }
        [layer] = [
            root / res["Properties"]["ContentUri"]
            for res in resources.values()
            if res["Type"] == "AWS::Serverless::LayerVersion"
        ]
        return cls(root, functions, layer)

    @property
    def packages(self) -> Path:
        return self.layer / "python"


def runtime_tag() -> str:
    """cpython-313 for python3.13, the template's Runtime."""
    runtime = str(template.load()["Globals"]["Function"]["Runtime"])
    return "cpython-" + runtime.removeprefix("python").replace(".", "")


def elf_machine(path: Path) -> int | None:
    header = path.read_bytes()[:20]
    if not header.startswith(ELF_MAGIC):
        return None
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


def foreign_binaries(packages: Path) -> list[str]:
    """Compiled files that Lambda's arm64 python3.13 could not load."""
    wrong = []
    for path in sorted(packages.rglob("*.so*")):
        if not path.is_file():
            continue
        name = path.name
        if elf_machine(path) not in (None, EM_AARCH64):
            wrong.append(f"{path.relative_to(packages)}: not built for aarch64")
        elif ".cpython-" in name and f".{runtime_tag()}-" not in name:
            wrong.append(f"{path.relative_to(packages)}: not built for {runtime_tag()}")
    return wrong


def size(path: Path) -> int:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file() and not file.is_symlink())


def oversized(artifact: Artifact) -> tuple[list[str], dict[str, int]]:
    layer = size(artifact.layer)
    sizes = {name: size(code) + layer for name, code in artifact.functions.items()}
    return [f"{name}: {total} bytes with the layer" for name, total in sizes.items() if total > UNZIPPED_LIMIT_BYTES], {
        "layer": layer,
        **sizes,
    }


def compiled_packages(packages: Path) -> dict[str, str]:
    """Top-level package -> its dist-info directory, for the packages that ship compiled extensions."""
    tops = {path.relative_to(packages).parts[0] for path in packages.rglob("*.so*") if elf_machine(path) is not None}
    found = {}
    for dist_info in packages.glob("*.dist-info"):
        top_level = dist_info / "top_level.txt"
        names = set(top_level.read_text().split()) if top_level.is_file() else {dist_info.name.split("-")[0]}
        for name in names & tops:
            found[name] = dist_info.name
    return found


_PROBE = """
import sys
sys.path[:] = {path!r} + [p for p in sys.path if "-packages" not in p]  # the standard library and the artifact
import app
assert callable(app.handler), "app.handler is not callable"
"""


def import_failures(artifact: Artifact) -> list[str]:
    site_packages = Path(sysconfig.get_paths()["purelib"])
    failures = []
    with tempfile.TemporaryDirectory() as stand_ins:
        for name, dist_info in compiled_packages(artifact.packages).items():
            if not (site_packages / dist_info).is_dir():
                failures.append(f"{dist_info}: not the version of this venv, whose build would stand in for it")
            os.symlink(site_packages / name, Path(stand_ins) / name)
        for name in RUNTIME_PROVIDED:
            module = next(path for path in (site_packages / name, site_packages / f"{name}.py") if path.exists())
            os.symlink(module, Path(stand_ins) / module.name)
        for logical_id, code in artifact.functions.items():
            function = template.functions()[logical_id]
            probe = _PROBE.format(path=[str(code), stand_ins, str(artifact.packages)])
            result = subprocess.run(  # noqa: S603  # this Python, on our own probe
                [sys.executable, "-I", "-c", probe],
                capture_output=True,
                text=True,
                timeout=120,
                env={**os.environ, **template.placeholder_environment(function)},
                check=False,
            )
            if result.returncode:
                failures.append(f"{logical_id}: {result.stderr.strip().splitlines()[-1]}")
    return failures


def check(root: Path) -> list[str]:
    artifact = Artifact.read(root)
    problems = foreign_binaries(artifact.packages)
    too_big, sizes = oversized(artifact)
    problems += too_big + import_failures(artifact)
    print(json.dumps({"bytesUnzipped": {"layer": sizes["layer"], "largestFunctionWithLayer": max(sizes.values())}}))
    return problems


def main() -> int:
    problems = check(Path(sys.argv[1]))
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
