"""Identifiers and timestamps: ids sort by creation time, so a descending query lists the newest first."""

import secrets
import time
from datetime import UTC, datetime

# What new_id makes: a route naming a record by id (a callback's URL) takes nothing else.
ID_PATTERN = r"^[a-z]+_[0-9a-f]{22}$"


def new_id(prefix: str) -> str:
    return f"{prefix}_{time.time_ns() // 1_000_000:012x}{secrets.token_hex(5)}"


def now_iso() -> str:
    return iso(datetime.now(UTC))


def iso(moment: datetime) -> str:
    """How times are stored: UTC, milliseconds, "Z" (so that they sort as text)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
