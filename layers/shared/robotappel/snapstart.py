"""Lambda SnapStart (template parameter SnapStart): what a restored execution environment must not keep as it was.

With SnapStart, Lambda runs a version's init once, snapshots the process, and every cold start of that version
resumes a copy of the snapshot: whatever init left in memory is the same in all of them. Ids and keys come from
`secrets` and `uuid4` (the OS's CSPRNG, read at each call), so they differ in every copy; `random`'s state does
not, and is reseeded. Clients hold connections and credentials that may not outlive the snapshot: the modules that
cache them register `after_restore(<their cache>.cache_clear)`, and the next call makes them anew.
"""

import random
from collections.abc import Callable

try:
    from snapshot_restore_py import register_after_restore  # type: ignore[import-not-found]  # in Lambda only
except ImportError:  # Lambda's Python runtime provides it; where it is missing, nothing is ever restored

    def register_after_restore(func: Callable[[], object]) -> Callable[[], object]:
        return func


def after_restore(hook: Callable[[], object]) -> None:
    """Run `hook` in each execution environment restored from a snapshot, before its first request."""
    register_after_restore(hook)


# The retries' jitter and the number searches' order would be the same in every restored copy.
after_restore(random.seed)
