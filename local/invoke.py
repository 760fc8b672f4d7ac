"""`make invoke FUNCTION=<LogicalId> EVENT=events/<file>.json`: one function on one event, offline.

What `sam local invoke -e` does, without docker: the function runs in the dev server's runner, against its moto and
Twilio emulator, seeded from local/seed.json (SEED_FILE overrides) like `make run`, on free ports. The function's
result, or Lambda's error payload when it raised, is printed on stdout as JSON; what it logs goes to stderr.
The exit status is 1 when the function raised. The seed is quiet, and so is the Twilio callback that comes after
the server stopped (an add's verification): `make run` delivers it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path
from typing import Any

from samcli.lib.utils.stream_writer import StreamWriter

from local import template
from local.server import DEFAULT_SEED_FILE, DevServer, configure_logging
from local.twilio_emulator import callbacks


def invoke(function: str, event: dict[str, Any]) -> Any:
    """The function's output for `event`, parsed, with a dev server started for it and stopped after."""
    server = DevServer(seed_file=Path(os.environ.get("SEED_FILE") or DEFAULT_SEED_FILE)).start()
    try:
        assert server.gateway is not None  # set by start()
        with StringIO() as output:
            server.gateway.lambda_runner.invoke(function, json.dumps(event), stdout=StreamWriter(output))
            return json.loads(output.getvalue())
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.invoke", description=__doc__.splitlines()[0])
    parser.add_argument("function", choices=sorted(template.functions()), metavar="FUNCTION", help="a logical id")
    parser.add_argument("event", type=Path, metavar="EVENT", help="a JSON event, e.g. events/get_token_balance.json")
    args = parser.parse_args(argv)
    configure_logging(logging.WARNING)
    # The server stops as soon as the function returns: a callback the emulator posts after that (the verification
    # an add triggers, ~0.2 s later) finds nobody listening. That is this command's doing, not a failure to report.
    logging.getLogger(callbacks.__name__).setLevel(logging.ERROR)
    with redirect_stdout(sys.stderr):  # the seeding logs (onboarding); stdout is the function's result only
        result = invoke(args.function, json.loads(args.event.read_text()))
    print(json.dumps(result, indent=2))
    raised = isinstance(result, dict) and "errorType" in result
    return 1 if raised else 0


if __name__ == "__main__":
    sys.exit(main())
