"""getOrgPhoneNumberList: one row per client phone (outbound) and per active Twilio number (inbound)."""

from robotappel.caller import CallContext
from robotappel.dal import numbers
from robotappel.dal.dynamodb import Item
from robotappel.models.listing import OrgPhoneNumberItem


def org_phone_number_list(ctx: CallContext, requested_org_id: str | None) -> list[OrgPhoneNumberItem]:
    items = numbers.list_numbers(ctx.caller.readable_org(requested_org_id))
    linked = {
        item["clientPhoneNumber"]: item for item in items if item["kind"] == "twilio" and "clientPhoneNumber" in item
    }
    return [_row(item, linked) for item in items]


def _row(item: Item, linked: dict[str, Item]) -> OrgPhoneNumberItem:
    if item["kind"] == "twilio":
        twilio_number, sid, direction = item["phoneNumber"], item["phoneNumberSid"], "inbound"
    else:
        link = linked.get(item["phoneNumber"], {})
        twilio_number, sid, direction = link.get("phoneNumber", ""), link.get("phoneNumberSid", ""), "outbound"
    return OrgPhoneNumberItem(
        id=item["id"],
        phoneNumber=item["phoneNumber"],
        friendlyName=item["friendlyName"],
        status=item["status"],
        totalCalls=str(int(item.get("totalCalls", 0))),
        createdAt=item["createdAt"],
        direction=direction,
        twilioNumber=twilio_number,
        phoneNumberSid=sid,
    )
