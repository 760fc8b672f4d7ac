"""`make reconcile`: one reconciler run now, on the running `make run` (PORT, 3000 by default); `make reconcile
DRY_RUN=1`: a run that reports what it would destroy, and destroys nothing.

The dev server runs it through its worker pool, as EventBridge would, and prints its findings by kind.
"""

import json
import os
import sys

import requests

FUNCTION = "ReconcilerFunction"
TIMEOUT_SECONDS = 150  # the function's own timeout (template.yaml) and some


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('PORT') or 3000}/_local/scheduled/{FUNCTION}"
    try:
        dry_run = os.environ.get("DRY_RUN", "") not in ("", "0")
        response = requests.post(url, json={"dryRun": True} if dry_run else {}, timeout=TIMEOUT_SECONDS)
    except requests.ConnectionError:
        print(f"Nothing answers at {url}: is `make run` running?", file=sys.stderr)
        return 1
    print(json.dumps(response.json(), indent=2))
    return 0 if response.ok else 1


if __name__ == "__main__":
    sys.exit(main())
