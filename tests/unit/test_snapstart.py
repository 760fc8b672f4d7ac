"""SnapStart: copies of one initialised process (a snapshot restored several times) must not share ids, random
state or clients. A restore is simulated by fork() after init: each child is a restored copy, and runs the hooks the
functions registered with Lambda's `snapshot_restore_py` (stood in for here: only Lambda's runtime provides it).

Each scenario runs in a fresh interpreter of its own, so that the stand-in and the forks never touch pytest's process.
"""

import json
from pathlib import Path
from typing import Any

import pytest

from local import template
from tests.fixtures.fresh_interpreter import LAYER, run_probe

FUNCTION = template.function_named("buy_twilio_number")  # DynamoDB, the Twilio client and its credentials: all of it

# What Lambda's Python runtime provides as snapshot_restore_py: the hooks registered, run on each restore.
STAND_IN = """
hooks = []


def register_after_restore(func, *args, **kwargs):
    hooks.append((func, args, kwargs))
    return func


def register_before_snapshot(func, *args, **kwargs):
    return func


def restore():
    for func, args, kwargs in hooks:
        func(*args, **kwargs)
"""

# Init as Lambda runs it before the snapshot (the handler's module, the DynamoDB client made and random state used),
# then two restored copies: each reports its ids, its random numbers and whether its clients are the snapshot's.
PROBE = """
import json, os, random, sys
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-3")  # Lambda sets it; the DynamoDB client needs one
sys.path[:0] = [{stand_in!r}, {code_dir!r}, {layer!r}]
import snapshot_restore_py
import app
from robotappel.dal import dynamodb
from robotappel.ids import new_id
from robotappel.twilio import client as twilio_client

snapshot_client = dynamodb.client()
random.random()
# A snapshot restores random's state as it was; fork() reseeds it in the child (os.register_at_fork), so the copy
# is given the snapshot's state back.
snapshot_random = random.getstate()
from aws_lambda_powertools.utilities import parameters
registered = [func for func, _, _ in snapshot_restore_py.hooks]
cached = {{
    "random state": random.seed,
    "DynamoDB client": dynamodb.client.cache_clear,
    "Twilio client": twilio_client.get_twilio_client.cache_clear,
    "Twilio secret": parameters.clear_caches,
}}
hooks = sorted(name for name, hook in cached.items() if hook in registered)
copies = []
for _ in range(2):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a restored copy
        os.close(read)
        random.setstate(snapshot_random)
        if {run_hooks!r}:
            snapshot_restore_py.restore()
        found = {{
            "ids": [new_id("cp") for _ in range(1000)],
            "random": [random.random() for _ in range(5)],
            "same_client": dynamodb.client() is snapshot_client,
        }}
        os.write(write, json.dumps(found).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        copies.append(json.loads(pipe.read()))
    os.waitpid(pid, 0)
print(json.dumps({{"hooks": hooks, "copies": copies}}))
"""


def restored_copies(stand_in: Path, run_hooks: bool = True) -> dict[str, Any]:
    probe = PROBE.format(stand_in=str(stand_in), code_dir=str(FUNCTION.code_dir), layer=str(LAYER), run_hooks=run_hooks)
    found: dict[str, Any] = json.loads(run_probe(FUNCTION, probe))
    return found


@pytest.fixture
def stand_in(tmp_path: Path) -> Path:
    (tmp_path / "snapshot_restore_py.py").write_text(STAND_IN)
    return tmp_path


def test_the_functions_register_hooks_for_random_state_and_every_cached_client(stand_in: Path) -> None:
    # Given a function imported where Lambda's runtime hooks exist
    # When its init has run
    found = restored_copies(stand_in)
    # Then it registered a hook for random's state, the DynamoDB and Twilio clients and the cached Twilio secret
    assert found["hooks"] == ["DynamoDB client", "Twilio client", "Twilio secret", "random state"]


def test_two_copies_restored_from_one_snapshot_make_different_ids(stand_in: Path) -> None:
    # Given two copies of one initialised function, each restored and running its hooks
    first, second = restored_copies(stand_in)["copies"]
    # When each makes 1000 ids, then no id of one is an id of the other
    assert not set(first["ids"]) & set(second["ids"])


def test_two_copies_restored_from_one_snapshot_draw_different_random_numbers(stand_in: Path) -> None:
    # Given two copies of one initialised function, each restored and running its hooks
    first, second = restored_copies(stand_in)["copies"]
    # Then their random numbers (retry jitter, search order) differ
    assert first["random"] != second["random"]


def test_without_the_hooks_two_restored_copies_draw_the_same_random_numbers(stand_in: Path) -> None:
    # Given two copies of one initialised function that do not run the hooks (what the hooks are for)
    first, second = restored_copies(stand_in, run_hooks=False)["copies"]
    # Then they share random's state
    assert first["random"] == second["random"]


def test_a_restored_copy_makes_its_own_dynamodb_client(stand_in: Path) -> None:
    # Given a function whose init made the DynamoDB client, restored from its snapshot
    first, second = restored_copies(stand_in)["copies"]
    # Then neither copy uses the snapshot's client (its connections and credentials predate the restore)
    assert not first["same_client"]
    assert not second["same_client"]
