"""A request to the emulated API, its reply, and a Twilio error as the API answers it."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.twilio_emulator import resources


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)
    # The account whose credentials were used (the main account's for its API keys).
    principal: str = ""


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = None
    drop_connection: bool = False
    # What Twilio does before its answer reaches the client (outside the API's lock): a callback that beats it.
    before_answering: Callable[[], None] | None = None


class TwilioError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.reply = Reply(status, resources.error_body(status, code, message))


def not_found(path: str) -> TwilioError:
    return TwilioError(404, 20404, f"The requested resource {path} was not found")
