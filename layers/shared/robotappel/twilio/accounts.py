"""The parent account's subaccounts at Twilio: one per org (README: Tenants at Twilio). Only the parent's
credentials may create, list or update them."""

from dataclasses import dataclass
from typing import Any, Literal

from robotappel.twilio.gateway import call_as_parent

AccountStatus = Literal["active", "suspended", "closed"]


@dataclass(frozen=True)
class Account:
    sid: str
    friendly_name: str
    status: str


def create_subaccount(friendly_name: str) -> Account:
    return _account(call_as_parent(lambda client: client.api.v2010.accounts.create(friendly_name=friendly_name)))


def find_subaccounts(friendly_name: str) -> list[Account]:
    """The parent's active subaccounts named exactly `friendly_name` (what a create whose answer was lost left). A
    closed one is gone for good, and a suspended one that no org records was put aside by an operator: neither is
    an org's to take."""
    found = call_as_parent(
        lambda client: client.api.v2010.accounts.list(friendly_name=friendly_name, status="active", limit=20)
    )
    return [_account(account) for account in found]


def set_status(account_sid: str, status: AccountStatus) -> Account:
    return _account(call_as_parent(lambda client: client.api.v2010.accounts(account_sid).update(status=status)))


def _account(resource: Any) -> Account:
    return Account(sid=str(resource.sid), friendly_name=str(resource.friendly_name or ""), status=str(resource.status))
