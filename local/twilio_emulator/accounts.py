"""Twilio accounts (API 2010-04-01 Accounts): the main account, its subaccounts, and which credentials reach which.

Twilio's rules (https://www.twilio.com/docs/iam/api/subaccounts, https://www.twilio.com/docs/iam/api/account):
- the main account's credentials (its SID and auth token, or one of its API keys) reach the main account and, in the
  2010-04-01 API, any of its subaccounts; a subaccount's credentials reach that subaccount only; the other APIs
  (Numbers v2) act in the account whose credentials are used;
- only the main account creates, lists, suspends, reactivates and closes subaccounts; a subaccount cannot contain
  subaccounts (21101) and the main account's own Status cannot be changed;
- a main account has up to 1000 subaccounts by default (21480 beyond);
- a closed subaccount cannot be reopened (21479), and closing it releases its phone numbers.
"""

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local.twilio_emulator import resources
from local.twilio_emulator.exchange import TwilioError, not_found

ACTIVE, SUSPENDED, CLOSED = "active", "suspended", "closed"
STATUSES = (ACTIVE, SUSPENDED, CLOSED)
DEFAULT_MAX_SUBACCOUNTS = 1000
MAX_FRIENDLY_NAME_LENGTH = 64
MAIN_FRIENDLY_NAME = "My first Twilio account"
AUTHENTICATE = 20003
ACCOUNT_NOT_ACTIVE = 20005
FORBIDDEN = 20403
INVALID_PARAMETER = 20001
SUBACCOUNTS_CANNOT_NEST = 21101
CLOSED_FOR_GOOD = 21479
TOO_MANY_SUBACCOUNTS = 21480


@dataclass(frozen=True)
class ApiKey:
    secret: str
    account_sid: str


def authentication_error() -> TwilioError:
    return TwilioError(401, AUTHENTICATE, "Authenticate")


class Accounts:
    """The main account and its subaccounts by SID, and the API keys (the caller holds the API's lock)."""

    def __init__(self, main_sid: str, main_auth_token: str, max_subaccounts: int) -> None:
        self.main_sid = main_sid
        self.main_auth_token = main_auth_token
        self.max_subaccounts = max_subaccounts
        self.api_keys: dict[str, ApiKey] = {}
        self.by_sid: dict[str, dict[str, Any]] = {}
        self.reset()

    def reset(self) -> None:
        """The main account alone, as it was made, with its own API keys."""
        main = resources.account(self.main_sid, self.main_sid, self.main_auth_token, MAIN_FRIENDLY_NAME)
        self.by_sid = {self.main_sid: main}
        self.api_keys = {sid: key for sid, key in self.api_keys.items() if key.account_sid == self.main_sid}

    def authenticated(self, username: str, password: str) -> str | None:
        """The SID of the account these Basic auth credentials open (an account's SID and auth token, or an API key
        SID and secret), None when they open none."""
        key = self.api_keys.get(username)
        account_sid = key.account_sid if key else username
        account = self.by_sid.get(account_sid)
        if account is None:
            return None
        secret: str = key.secret if key else account["auth_token"]
        if not hmac.compare_digest(password.encode(), secret.encode()):
            return None
        # Twilio's 20003 ("Permission Denied", 401) names "Account is suspended or closed" among its causes: the
        # credentials of an account that is not active are refused as wrong ones are.
        return account_sid if account["status"] == ACTIVE else None

    def reachable(self, principal: str, sid: str, path: str) -> dict[str, Any]:
        """The account `sid`, if the credentials of `principal` reach it: its own, or a subaccount of the main one.

        Twilio's 20003 names "Using subaccount credentials to access master account" among its causes: another
        account than the credentials may reach is refused as wrong credentials are."""
        account = self.by_sid.get(sid)
        if account is None:
            raise not_found(path)
        if sid != principal and account["owner_account_sid"] != principal:
            raise authentication_error()
        return account

    def check_open(self, principal: str, sid: str, path: str) -> None:
        """The resources of account `sid` may be used with the credentials of `principal`: reachable, and active.

        A suspended or closed subaccount reached with the main account's credentials: those credentials are valid,
        the account they act in is not, and "a suspended account cannot use Twilio for calls, messages, or other API
        activity until it is reactivated" (Twilio's error 10001). The REST API's code for it is 20005 ("Account not
        active"); 403, as for a request that is authenticated and still refused. (The subaccount's own credentials
        get 401 and 20003: `authenticated`.)"""
        account = self.reachable(principal, sid, path)
        if account["status"] != ACTIVE:
            raise TwilioError(403, ACCOUNT_NOT_ACTIVE, f"Account {sid} is not active.")

    def visible_to(self, principal: str) -> list[dict[str, Any]]:
        """The main account's credentials see it and its subaccounts; a subaccount's see only that subaccount."""
        return [a for a in self.by_sid.values() if principal in (a["sid"], a["owner_account_sid"])]

    def create(self, principal: str, friendly_name: str | None) -> dict[str, Any]:
        if principal != self.main_sid:
            raise TwilioError(400, SUBACCOUNTS_CANNOT_NEST, "Subaccounts cannot contain subaccounts.")
        name = _checked_name(friendly_name) if friendly_name else _default_name()
        if len(self.by_sid) - 1 >= self.max_subaccounts:
            raise TwilioError(
                400,
                TOO_MANY_SUBACCOUNTS,
                "Reached maximum number of subaccounts, please contact Twilio if you want to create more subaccounts.",
            )
        account = resources.account(resources.new_sid("AC"), principal, secrets.token_hex(16), name)
        self.by_sid[account["sid"]] = account
        return account

    def update(self, principal: str, sid: str, form: dict[str, str], path: str) -> dict[str, Any]:
        account = self.reachable(principal, sid, path)
        name = _checked_name(form["FriendlyName"]) if "FriendlyName" in form else account["friendly_name"]
        status = form.get("Status", account["status"])
        if status != account["status"]:
            self._check_status_change(principal, account, status)
        account |= {"friendly_name": name, "status": status, "date_updated": resources.rfc2822_now()}
        return account

    def _check_status_change(self, principal: str, account: dict[str, Any], status: str) -> None:
        if status not in STATUSES:
            raise TwilioError(400, INVALID_PARAMETER, f"Status must be one of {', '.join(STATUSES)}.")
        if principal != self.main_sid or account["sid"] == self.main_sid:
            raise TwilioError(
                403,
                FORBIDDEN,
                "Only the main account's credentials change the Status of a subaccount, and never of the main account.",
            )
        if account["status"] == CLOSED:
            raise TwilioError(
                400,
                CLOSED_FOR_GOOD,
                "Unable to update Status for subaccount, subaccount is closed and can not be re-opened.",
            )


def _checked_name(friendly_name: str) -> str:
    if len(friendly_name) > MAX_FRIENDLY_NAME_LENGTH:
        raise TwilioError(
            400, INVALID_PARAMETER, f"FriendlyName must be at most {MAX_FRIENDLY_NAME_LENGTH} characters long."
        )
    return friendly_name


def _default_name() -> str:
    """Twilio's: "SubAccount Created at {YYYY-MM-DD HH:MM meridian}"."""
    now = datetime.now(UTC)
    meridian = "am" if now.hour < 12 else "pm"
    return f"SubAccount Created at {now:%Y-%m-%d %I:%M} {meridian}"
