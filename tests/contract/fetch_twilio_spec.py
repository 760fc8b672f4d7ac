"""Fetch Twilio's OpenAPI spec of API 2010-04-01 once, from a pinned npm package, into .cache/.

`python -m tests.contract.fetch_twilio_spec` prints the path; the contract tests call `twilio_spec_path()`.
The tarball is checked against the registry's published sha512 before anything is extracted.
"""

import base64
import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "@twilio-alpha/mcp"
VERSION = "0.7.0"
INTEGRITY = "sha512-YsUde1pMXwqHm8Cvq9JdtsyvclVCC/f/V+FmxTNN04u5Qt5aapkbQgcfqBYQ0xcmvATBNswgPDo3MPVaCtZK8Q=="
MEMBER = "package/twilio-oai/spec/json/twilio_api_v2010.json"
CACHE_DIR = Path(__file__).resolve().parents[2] / ".cache" / "twilio-oai" / VERSION


def twilio_spec_path() -> Path:
    target = CACHE_DIR / "twilio_api_v2010.json"
    if not target.exists():
        _download(target)
    return target


def _download(target: Path) -> None:
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
            extracted = archive.extractfile(MEMBER)
            if extracted is None:
                raise RuntimeError(f"{MEMBER} is not a file in {PACKAGE}@{VERSION}")
            spec = json.load(extracted)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".tmp")
    partial.write_text(json.dumps(spec))
    partial.replace(target)


def _check_integrity(tarball: Path) -> None:
    algorithm, _, expected = INTEGRITY.partition("-")
    digest = base64.b64encode(hashlib.new(algorithm, tarball.read_bytes()).digest()).decode()
    if digest != expected:
        raise RuntimeError(f"{tarball.name} does not match the pinned integrity of {PACKAGE}@{VERSION}")


if __name__ == "__main__":
    print(twilio_spec_path())
