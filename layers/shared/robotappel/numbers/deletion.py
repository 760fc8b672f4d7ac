"""deletePhoneNumber: one route for both kinds of number, told apart by the record the id names."""

from robotappel.caller import CallContext
from robotappel.dal import numbers
from robotappel.errors import NotFound
from robotappel.models.listing import DeleteResult
from robotappel.numbers.client_phones import delete_client_phone
from robotappel.numbers.twilio_numbers import release_number


def delete_phone_number(ctx: CallContext, number_id: str) -> DeleteResult:
    # The key includes the caller's org: another org's id is simply not found (its existence is not revealed).
    item = numbers.get_number(ctx.caller.org_id, number_id)
    if item is None or item.get("status") == "released":
        raise NotFound("No phone number with this id.")
    if item["kind"] == "client":
        return delete_client_phone(ctx, item)
    return release_number(ctx, item)
