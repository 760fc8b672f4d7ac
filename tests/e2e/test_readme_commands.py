"""Every curl in README.md, read from README.md, run against `make run`'s server: each gets what the README says.

A command's expected answer is the status its comment states (`# 201 {...}`, on its line or the next), else a
success (2xx); the `"key": "value…"` pairs of such a comment are checked against the answer, `…` standing for any
text. The README's placeholders are filled as a reader fills them: `$KEY` with an org's key (a fresh org of this
test, with its own regulatory defaults), `$ADMIN_KEY` with the seed's admin key, `<the apiKey…>` with the key the
operators' tool printed just before (its `--local` lines run too: the curls after them need what they did), `BU…`
and `AD…` with an approved bundle and an address in that org's subaccount. Commands for a deployed stage (`$API`) run
after the local walkthrough, which has onboarded the organisations they name by then.
"""

import json
import os
import re
import shlex
import subprocess
import uuid
from dataclasses import dataclass

import pytest
import requests

from local import regulatory
from local.regulatory import FrenchDocuments
from local.template import ROOT
from tests.fixtures.server import LocalServer, subaccount_of

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_server")]

README = ROOT / "README.md"
README_URL = "http://127.0.0.1:3000"
ADMIN_TOOL = ".venv/bin/python -m robotappel_admin --local "
TIMEOUT = 60
_FENCE = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)
_INLINE_CURL = re.compile(r"`(curl [^`]+)`")
_STATUS_COMMENT = re.compile(r"#\s*(\d{3})\b(.*)$")
_QUOTED_PAIR = re.compile(r'"(\w+)": "([^"]*)"')
_PRINTED_KEY = re.compile(r"<the apiKey[^>]*>")
_UNFILLED = re.compile(r"\$[A-Z]|…|<[a-z]|127\.0\.0\.1:3000")


@dataclass(frozen=True)
class Command:
    line: str  # as README.md has it, continuation lines joined
    status: int | None  # what its comment says it answers; None: a success
    shown: str  # the rest of that comment: the answer it shows


def _logical_lines(block: str) -> list[str]:
    return block.replace("\\\n", " ").splitlines()


def _expectation(line: str, next_line: str) -> tuple[int | None, str]:
    for candidate in (line[line.find("#") :] if "#" in line else "", next_line.strip()):
        found = _STATUS_COMMENT.match(candidate)
        if found:
            return int(found.group(1)), found.group(2)
    return None, ""


def readme_commands() -> list[Command]:
    """The curls (and the operators' `--local` lines) of README.md, in its order."""
    text = README.read_text()
    commands = []
    for block in _FENCE.findall(text):
        lines = _logical_lines(block)
        for index, line in enumerate(lines):
            if line.startswith("curl ") or line.startswith(ADMIN_TOOL):
                after = lines[index + 1] if index + 1 < len(lines) else ""
                commands.append(Command(line, *_expectation(line, after)))
    commands += [Command(curl, None, "") for curl in _INLINE_CURL.findall(text)]
    deployed = [command for command in commands if "$API" in command.line]
    return [command for command in commands if command not in deployed] + deployed


@dataclass
class Reader:
    """What a reader of the README fills its placeholders with, on this server."""

    server: LocalServer
    key: str  # $KEY
    documents: FrenchDocuments  # BU… and AD…: the $KEY org's
    printed_key: str = ""  # the last apiKey the operators' tool printed

    def fill(self, line: str) -> list[str]:
        filled = [self._fill(word) for word in shlex.split(line, comments=True)]
        assert not _UNFILLED.search(" ".join(filled)), f"a placeholder this test does not know: {line}"
        return filled

    def _fill(self, word: str) -> str:
        word = word.replace(README_URL, self.server.url).replace("$API", self.server.url)
        word = word.replace("$ADMIN_KEY", self.server.api_keys["org-admin"]).replace("$KEY", self.key)
        bundle, address = self.documents.bundles["local"], self.documents.address
        word = word.replace('"BU…"', json.dumps(bundle)).replace('"AD…"', json.dumps(address))
        return _PRINTED_KEY.sub(self.printed_key, word)


def _fresh_org(server: LocalServer) -> tuple[str, str]:
    """A new org with 1000 tokens, made over the admin routes, and a member key of it."""
    admin = server.headers("org-admin")
    org_id = f"org-readme-{uuid.uuid4().hex[:8]}"
    created = requests.post(f"{server.url}/admin/orgs", json={"orgId": org_id, "tokens": 1000}, headers=admin)
    assert created.status_code == 201, created.text
    issued = requests.post(f"{server.url}/admin/orgs/{org_id}/apiKeys", json={}, headers=admin)
    assert issued.status_code == 201, issued.text
    return org_id, str(issued.json()["apiKey"])


def _run_admin_tool(reader: Reader, command: Command) -> None:
    result = subprocess.run(
        reader.fill(command.line),
        cwd=ROOT,
        env={**os.environ, "LOCAL_STAGE_FILE": str(reader.server.stage_file)},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"{command.line}\n{result.stderr}"
    printed = json.loads(result.stdout)
    if "apiKey" in printed:
        reader.printed_key = printed["apiKey"]["apiKey"]


def _run_curl(reader: Reader, command: Command) -> None:
    arguments = reader.fill(command.line)
    result = subprocess.run(
        [*arguments, "--silent", "--show-error", "--write-out", "\n%{http_code}"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"{command.line}\n{result.stderr}"
    body, _, status = result.stdout.rpartition("\n")
    if command.status is None:
        assert 200 <= int(status) < 300, f"{command.line}\n{status} {body}"
    else:
        assert int(status) == command.status, f"{command.line}\n{status} {body}"
    answer = json.loads(body)
    for key, shown in _QUOTED_PAIR.findall(command.shown):
        pattern = ".*".join(re.escape(part) for part in re.split(r"\s*…\s*", shown))
        assert re.fullmatch(pattern, str(answer.get(key)), re.DOTALL), f"{command.line}\n{key}: {answer.get(key)}"


def test_readme_has_curl_commands_to_run() -> None:
    commands = readme_commands()

    assert sum(command.line.startswith("curl ") for command in commands) >= 10
    assert any(command.status is not None for command in commands)


def test_every_readme_command_answers_what_the_readme_says(local_server: LocalServer) -> None:
    # Given a reader with an org of their own ($KEY) and French documents in its subaccount, as the seed's orgs have
    org_id, key = _fresh_org(local_server)
    documents = regulatory.make(local_server.twilio, org_id, subaccount_of(local_server.moto_url, org_id))
    reader = Reader(local_server, key=key, documents=documents)
    # When they run every command of the README, in its order
    for command in readme_commands():
        # Then each answers what the README says
        if command.line.startswith(ADMIN_TOOL):
            _run_admin_tool(reader, command)
        else:
            _run_curl(reader, command)
