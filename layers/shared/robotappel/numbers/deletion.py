"""deletePhoneNumber: one route for both kinds of number, told apart by the record the id names."""

from robotappel.dal import numbers
from robotappel.errors import NotFound
from robotappel.models.listing import DeleteResult
from robotappel.numbers.client_phones import delete_client_phone
from robotappel.numbers.context import CallContext
from robotappel.numbers.twilio_numbers import release_number


def delete_phone_number(ctx: CallContext, number_id: str) -> DeleteResult:
    # The key includes the caller's org: another org's id is simply not found (its existence is not revealed).
    record = numbers.get_number(ctx.caller.org_id, number_id)
    if record is None or record.status == "released":
        raise NotFound("No phone number with this id.")
    if isinstance(record, numbers.ClientPhoneRecord):
        return delete_client_phone(ctx, record)
    return release_number(ctx, record)
