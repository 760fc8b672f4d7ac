"""The read use cases of numbers: DynamoDB only, so a read function never loads the Twilio SDK."""

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


def list_client_phones(ctx: CallContext, requested_org_id: str | None) -> list[ClientOrgPhone]:
    records = numbers.list_client_phones(ctx.caller.readable_org(requested_org_id))
    if any(record.status == "pending" for record in records):
        # The one exception to "reads never call Twilio": a pending phone whose callback never came is asked
        # about at Twilio. Imported here so that lists without pending phones never load the SDK.
        from robotappel.numbers.verification import rechecked_if_stale

        records = [rechecked_if_stale(record) for record in records]
    return [client_org_phone(record) for record in records]


def list_twilio_numbers(ctx: CallContext) -> list[TwilioNumber]:
    return [twilio_number(record) for record in numbers.list_twilio_numbers(ctx.caller.org_id)]


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


def org_phone_number_list(ctx: CallContext, requested_org_id: str | None) -> list[OrgPhoneNumberItem]:
    """One row per client phone (outbound) and per active Twilio number (inbound)."""
    records = numbers.list_numbers(ctx.caller.readable_org(requested_org_id))
    linked = {
        record.client_phone_number: record
        for record in records
        if isinstance(record, numbers.TwilioNumberRecord) and record.client_phone_number
    }
    return [org_list_row(record, linked.get(record.phone_number)) for record in records]


def list_regulatory_defaults(caller: Caller) -> list[RegulatoryDefault]:
    return [regulatory_default(record) for record in numbers.list_regulatory_defaults(caller.org_id)]
