"""Fetch Twilio's OpenAPI specs (API 2010-04-01, Numbers v2) once, from a pinned npm package, into .cache/.

`python -m tests.contract.fetch_twilio_spec` prints their paths; the contract tests call `twilio_spec_path(name)`.
The tarball is checked against the registry's published sha512 before anything is extracted.
"""

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Literal, get_args

PACKAGE = "@twilio-alpha/mcp"
VERSION = "0.7.0"
INTEGRITY = "sha512-YsUde1pMXwqHm8Cvq9JdtsyvclVCC/f/V+FmxTNN04u5Qt5aapkbQgcfqBYQ0xcmvATBNswgPDo3MPVaCtZK8Q=="
SpecName = Literal["twilio_api_v2010", "twilio_numbers_v2"]
SPECS: tuple[SpecName, ...] = get_args(SpecName)
MEMBER_DIR = "package/twilio-oai/spec/json"
CACHE_DIR = Path(__file__).resolve().parents[2] / ".cache" / "twilio-oai" / VERSION


def twilio_spec_path(name: SpecName = "twilio_api_v2010") -> Path:
    target = CACHE_DIR / f"{name}.json"
    if not target.exists():
        _download()
    return target


def _download() -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed once to fetch Twilio's OpenAPI spec")
    with tempfile.TemporaryDirectory() as workdir:
        subprocess.run(
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--silent", "--pack-destination", workdir],
            check=True,
            capture_output=True,
        )
        [tarball] = Path(workdir).glob("*.tgz")
        _check_integrity(tarball)
        with tarfile.open(tarball) as archive:
            specs = {name: _extract(archive, f"{MEMBER_DIR}/{name}.json") for name in SPECS}
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    for name, spec in specs.items():
        partial = CACHE_DIR / f"{name}.{os.getpid()}.tmp"  # test workers may fetch at the same time
        partial.write_text(json.dumps(spec))
        partial.replace(CACHE_DIR / f"{name}.json")


def _extract(archive: tarfile.TarFile, member: str) -> object:
    extracted = archive.extractfile(member)
    if extracted is None:
        raise RuntimeError(f"{member} is not a file in {PACKAGE}@{VERSION}")
    return json.load(extracted)


def _check_integrity(tarball: Path) -> None:
    algorithm, _, expected = INTEGRITY.partition("-")
    digest = base64.b64encode(hashlib.new(algorithm, tarball.read_bytes()).digest()).decode()
    if digest != expected:
        raise RuntimeError(f"{tarball.name} does not match the pinned integrity of {PACKAGE}@{VERSION}")


if __name__ == "__main__":
    for spec_name in SPECS:
        print(twilio_spec_path(spec_name))
