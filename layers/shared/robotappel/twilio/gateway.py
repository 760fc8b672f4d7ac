"""What the use cases ask of Twilio. Every call goes through `_call`: bounded retries, then one error mapping.

Every call for an org names its subaccount (`account`, the org's own: tenants.subaccounts), so an org's caller
IDs, numbers, addresses and bundles are its own by construction; only the subaccounts themselves are the parent's
(twilio.accounts).

Results are small frozen dataclasses so nothing outside this package depends on the SDK's objects.
"""

import functools
import json
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from requests.exceptions import RequestException
from twilio.base import values
from twilio.base.exceptions import TwilioException
from twilio.http.response import Response
from twilio.rest import Client

from robotappel.errors import NotFound
from robotappel.models.phone import NumberType
from robotappel.twilio import retry
from robotappel.twilio.account_tokens import auth_token_of
from robotappel.twilio.client import get_twilio_client, subaccount_client
from robotappel.twilio.credentials import get_twilio_credentials
from robotappel.twilio.errors import is_retryable, is_retryable_when_idempotent, to_domain_error
from robotappel.twilio.hosts import NUMBERS_API_URL
from robotappel.twilio.tags import record_id_of

T = TypeVar("T")
PAGE_SIZE = 1000  # Twilio's largest page: the reconciler lists whole accounts

_NUMBER_LISTS: dict[str, str] = {
    "local": "local",
    "mobile": "mobile",
    "tollFree": "toll_free",
    "national": "national",
}


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a Twilio list: its items, the URL it was read from (None: the first page) and the next one's
    (None: the last page). A URL is where a later listing may resume."""

    items: list[T]
    url: str | None
    next_url: str | None


@dataclass(frozen=True)
class ValidationRequest:
    validation_code: str
    call_sid: str
    phone_number: str


@dataclass(frozen=True)
class CallerId:
    sid: str
    phone_number: str
    friendly_name: str


@dataclass(frozen=True)
class IncomingNumber:
    sid: str
    phone_number: str
    friendly_name: str
    voice_url: str
    date_created: datetime | None = None
    status_callback: str = ""


@dataclass(frozen=True)
class Bundle:
    sid: str
    status: str  # "twilio-approved", "provisionally-approved", "twilio-rejected", "pending-review", ...
    regulation_sid: str


@dataclass(frozen=True)
class Regulation:
    """What a bundle is valid for: one country, number type and end-user type."""

    iso_country: str
    number_type: str  # Twilio's spelling: local, mobile, national, toll-free
    end_user_type: str


@dataclass(frozen=True)
class Address:
    sid: str
    iso_country: str


def request_caller_id_validation(
    account: str, phone_number: str, friendly_name: str, status_callback: str
) -> ValidationRequest:
    created = _call(
        account,
        lambda client: client.validation_requests.create(
            phone_number=phone_number, friendly_name=friendly_name, status_callback=status_callback
        ),
    )
    return ValidationRequest(
        validation_code=str(created.validation_code),
        call_sid=str(created.call_sid),
        phone_number=str(created.phone_number),
    )


def find_caller_id(account: str, phone_number: str, tagged_for: str | None = None) -> CallerId | None:
    """The account's caller ID of this number; with `tagged_for`, only one whose tag names that record (of this
    stage): what a record may act on when it does not know its caller ID's SID."""
    if tagged_for is None:
        found = _call(account, lambda client: client.outgoing_caller_ids.list(phone_number=phone_number, limit=1))
        return _caller_id(found[0]) if found else None
    return next((c for c in caller_ids_of(account, phone_number) if record_id_of(c.friendly_name) == tagged_for), None)


def caller_ids_of(account: str, phone_number: str) -> list[CallerId]:
    """The account's caller IDs of this number (one request)."""
    found = _call(account, lambda client: client.outgoing_caller_ids.list(phone_number=phone_number, limit=PAGE_SIZE))
    return [_caller_id(resource) for resource in found]


def caller_id_pages(account: str, start: str | None = None) -> Iterator[Page[CallerId]]:
    """The account's outgoing caller IDs, a page (one request) at a time, from the page at URL `start` (a page's
    `next_url`, kept from an earlier listing) or from the first."""
    if start is None:
        first = _call(account, lambda client: client.outgoing_caller_ids.page(page_size=PAGE_SIZE))
    else:
        first = _call(account, lambda client: client.outgoing_caller_ids.get_page(start))
    return _pages(account, first, _caller_id)


def fetch_caller_id(account: str, sid: str) -> CallerId | None:
    """The caller ID `sid` as Twilio holds it now; None when Twilio has no such caller ID."""
    try:
        return _caller_id(_call(account, lambda client: client.outgoing_caller_ids(sid).fetch()))
    except NotFound:
        return None


def delete_caller_id(account: str, sid: str) -> bool:
    """False when Twilio no longer has it: deleting is then already done."""
    return _delete(account, lambda client: client.outgoing_caller_ids(sid).delete())


def search_available_numbers(
    account: str,
    country: str,
    number_type: NumberType,
    *,
    area_code: str | None = None,
    contains: str | None = None,
    limit: int = 5,
) -> list[str]:
    def search(client: Client) -> list[Any]:
        country_numbers = client.available_phone_numbers(country.upper())
        number_list = getattr(country_numbers, _NUMBER_LISTS[number_type])
        return list(
            number_list.list(area_code=_or_unset(area_code), contains=_or_unset(contains), limit=limit, page_size=limit)
        )

    return [str(number.phone_number) for number in _call(account, search)]


def buy_number(
    account: str,
    phone_number: str,
    voice_url: str,
    status_callback: str,
    friendly_name: str,
    *,
    bundle_sid: str | None = None,
    address_sid: str | None = None,
) -> IncomingNumber:
    bought = _call(
        account,
        lambda client: client.incoming_phone_numbers.create(
            phone_number=phone_number,
            voice_url=voice_url,
            voice_method="POST",
            status_callback=status_callback,
            status_callback_method="POST",
            friendly_name=friendly_name,
            bundle_sid=_or_unset(bundle_sid),
            address_sid=_or_unset(address_sid),
        ),
        sent=[name for name, value in (("BundleSid", bundle_sid), ("AddressSid", address_sid)) if value],
    )
    return _incoming_number(bought)


def find_numbers(account: str, friendly_name: str) -> list[IncomingNumber]:
    """The account's numbers with exactly this FriendlyName (a tagged one: at most one)."""
    found = _call(account, lambda client: client.incoming_phone_numbers.list(friendly_name=friendly_name, limit=5))
    return [_incoming_number(number) for number in found]


def number_pages(account: str, start: str | None = None) -> Iterator[Page[IncomingNumber]]:
    """The account's numbers, a page (one request) at a time, from the page at URL `start` (a page's `next_url`,
    kept from an earlier listing) or from the first."""
    if start is None:
        first = _call(account, lambda client: client.incoming_phone_numbers.page(page_size=PAGE_SIZE))
    else:
        first = _call(account, lambda client: client.incoming_phone_numbers.get_page(start))
    return _pages(account, first, _incoming_number)


def fetch_number(account: str, sid: str) -> IncomingNumber | None:
    """The number `sid` as Twilio holds it now; None when Twilio has no such number."""
    try:
        return _incoming_number(_call(account, lambda client: client.incoming_phone_numbers(sid).fetch()))
    except NotFound:
        return None


def parent_account_sid() -> str:
    """The SID of the parent account the platform's credentials open."""
    return get_twilio_credentials().account_sid


def update_number(
    account: str,
    sid: str,
    friendly_name: str | None = None,
    voice_url: str | None = None,
    status_callback: str | None = None,
) -> IncomingNumber:
    updated = _call(
        account,
        lambda client: client.incoming_phone_numbers(sid).update(
            friendly_name=_or_unset(friendly_name),
            voice_url=_or_unset(voice_url),
            status_callback=_or_unset(status_callback),
        ),
    )
    return _incoming_number(updated)


def release_number(account: str, sid: str) -> bool:
    """False when Twilio no longer has it: releasing is then already done."""
    return _delete(account, lambda client: client.incoming_phone_numbers(sid).delete())


def fetch_bundle(account: str, sid: str) -> Bundle | None:
    """Regulatory bundle `sid`, or None when Twilio has no such bundle for us.

    Numbers v2 is read with plain requests through the client: the SDK's `numbers` domain is left out of the
    Lambda build (Makefile).
    """
    try:
        bundle = _numbers_v2(account, f"/v2/RegulatoryCompliance/Bundles/{quote(sid, safe='')}")
    except NotFound:
        return None
    return Bundle(sid=str(bundle["sid"]), status=str(bundle["status"]), regulation_sid=str(bundle["regulation_sid"]))


def fetch_regulation(account: str, sid: str) -> Regulation:
    """The Regulation a bundle was made for (Twilio's data: it always has the SID its bundles name)."""
    regulation = _numbers_v2(account, f"/v2/RegulatoryCompliance/Regulations/{quote(sid, safe='')}")
    return Regulation(
        iso_country=str(regulation["iso_country"]),
        number_type=str(regulation["number_type"]),
        end_user_type=str(regulation["end_user_type"]),
    )


def fetch_address(account: str, sid: str) -> Address | None:
    """Address `sid` of the account, or None when it has none with this SID."""
    try:
        address = _call(account, lambda client: client.addresses(sid).fetch())
    except NotFound:
        return None
    return Address(sid=str(address.sid), iso_country=str(address.iso_country))


def _call(
    account: str,
    operation: Callable[[Client], T],
    sent: Collection[str] = (),
    retryable: Callable[[Exception], bool] = is_retryable,
) -> T:
    """`operation` in subaccount `account`, with the parent's credentials. `sent`: the optional Twilio parameters
    the operation sends, for errors whose meaning depends on them; `retryable`: the failures after which the
    operation is sent again."""
    return _with_retries(lambda: operation(get_twilio_client(account)), sent, retryable)


def call_as_parent(operation: Callable[[Client], T]) -> T:
    """`operation` on the parent account itself (its subaccounts: twilio.accounts)."""
    return _with_retries(lambda: operation(get_twilio_client()))


def _with_retries(
    operation: Callable[[], T],
    sent: Collection[str] = (),
    retryable: Callable[[Exception], bool] = is_retryable,
) -> T:
    try:
        return retry.call_with_retries(operation, retryable, retry.DEFAULT_POLICY)
    except (TwilioException, RequestException) as exc:
        raise to_domain_error(exc, sent) from exc


def _delete(account: str, operation: Callable[[Client], object]) -> bool:
    try:
        _call(account, operation, retryable=is_retryable_when_idempotent)
    except NotFound:
        return False
    return True


def _numbers_v2(account: str, path: str) -> dict[str, Any]:
    """Numbers v2 in subaccount `account`: a parent cannot reach a subaccount's resources of this API, so it is
    called with the subaccount's own credentials."""
    token = auth_token_of(account)
    return _with_retries(lambda: _json_of(subaccount_client(account, token).request("GET", NUMBERS_API_URL + path)))


def _json_of(response: Response) -> dict[str, Any]:
    if response.status_code >= 400:
        # The shape the SDK raises for a failed page: errors.as_rest_exception reads Twilio's code from it.
        raise TwilioException("Unable to fetch record", response)
    body: dict[str, Any] = json.loads(response.text)
    return body


def _or_unset(value: str | None) -> object:
    return values.unset if value is None else value


def _pages(account: str, page: Any, resource: Callable[[Any], T]) -> Iterator[Page[T]]:
    url = None
    while page is not None:
        yield Page([resource(item) for item in page], url, page.next_page_url)
        url, page = page.next_page_url, _call(account, functools.partial(_next_page, page))


def _next_page(page: Any, _: Client) -> Any:
    return page.next_page()


def _caller_id(resource: Any) -> CallerId:
    return CallerId(
        sid=str(resource.sid),
        phone_number=str(resource.phone_number),
        friendly_name=str(resource.friendly_name or ""),
    )


def _incoming_number(resource: Any) -> IncomingNumber:
    return IncomingNumber(
        sid=str(resource.sid),
        phone_number=str(resource.phone_number),
        friendly_name=str(resource.friendly_name or ""),
        voice_url=str(resource.voice_url or ""),
        date_created=resource.date_created,
        status_callback=str(resource.status_callback or ""),
    )
