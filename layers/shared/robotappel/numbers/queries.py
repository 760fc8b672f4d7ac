"""The read use cases of numbers: DynamoDB only, so a read function never loads the Twilio SDK nor calls Twilio
(a pending client phone whose callback never came is settled by the reconciler, `robotappel.reconcile`).

The three lists come a page at a time (`robotappel.paging`); an admin naming an org that does not exist gets 404,
before anything is read or charged.
"""

from urllib.parse import unquote

from robotappel.caller import Caller
from robotappel.dal import numbers
from robotappel.errors import InvalidInput, NotFound
from robotappel.models.client_phones import ClientOrgPhone
from robotappel.models.listing import OrgPhoneNumberItem
from robotappel.models.phone import parse_e164
from robotappel.models.twilio_numbers import InboundClientNumber, RegulatoryDefault, TwilioNumber
from robotappel.numbers.context import CallContext
from robotappel.numbers.views import (
    client_org_phone,
    inbound_client_number,
    org_list_row,
    regulatory_default,
    twilio_number,
)
from robotappel.paging import Listing, Page, PageRequest
from robotappel.tenants.access import readable_org


def list_client_phones(ctx: CallContext, requested_org_id: str | None, page: PageRequest) -> Page[ClientOrgPhone]:
    listing = Listing(readable_org(ctx.caller, requested_org_id), "clientPhones")
    rows = numbers.list_client_phones(listing.org_id, page.limit, listing.position(page.cursor))
    return Page([client_org_phone(record) for record in rows.records], listing.cursor(rows.last_sk))


def list_twilio_numbers(ctx: CallContext, page: PageRequest) -> Page[TwilioNumber]:
    listing = Listing(ctx.caller.org_id, "twilioNumbers")
    rows = numbers.list_twilio_numbers(listing.org_id, page.limit, listing.position(page.cursor))
    return Page([twilio_number(record) for record in rows.records], listing.cursor(rows.last_sk))


def find_by_client_phone(ctx: CallContext, raw_client_phone: str) -> InboundClientNumber:
    # API Gateway (REST) passes the path still percent-encoded: "%2B33612345678", "06%2012%2034%2056%2078".
    try:
        client_phone = parse_e164(unquote(raw_client_phone).strip())
    except ValueError as error:
        raise InvalidInput("clientPhoneNumber", str(error)) from error
    record = numbers.find_linked_twilio_number(ctx.caller.org_id, client_phone)
    if record is None:
        raise NotFound(f"No Twilio number of this organisation is linked to {client_phone}.")
    return inbound_client_number(record, client_phone)


def org_phone_number_list(
    ctx: CallContext, requested_org_id: str | None, page: PageRequest
) -> Page[OrgPhoneNumberItem]:
    """One row per client phone (outbound) and per active Twilio number (inbound)."""
    listing = Listing(readable_org(ctx.caller, requested_org_id), "orgPhoneNumbers")
    rows = numbers.list_numbers(listing.org_id, page.limit, listing.position(page.cursor))
    linked = {
        record.client_phone_number: record
        for record in rows.records
        if isinstance(record, numbers.TwilioNumberRecord) and record.client_phone_number
    }
    if page.cursor is not None:
        # Twilio numbers sort before client phones: a first page that reaches the client phones holds them all, a
        # later one may not hold those its client phones are linked to.
        phones = [record.phone_number for record in rows.records if isinstance(record, numbers.ClientPhoneRecord)]
        linked |= numbers.find_linked_twilio_numbers(listing.org_id, phones)
    rows_out = [org_list_row(record, linked.get(record.phone_number)) for record in rows.records]
    return Page(rows_out, listing.cursor(rows.last_sk))


def list_regulatory_defaults(caller: Caller) -> list[RegulatoryDefault]:
    return [regulatory_default(record) for record in numbers.list_regulatory_defaults(caller.org_id)]
