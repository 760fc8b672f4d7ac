"""Twilio numbers: bought for an org, activated for inbound calls, optionally linked to one of its client phones."""

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from robotappel.callbacks import CALL_STATUS_PATH
from robotappel.caller import CallContext
from robotappel.config import get_settings
from robotappel.dal import numbers
from robotappel.dal.dynamodb import ConditionFailed, Item
from robotappel.errors import Conflict, InvalidInput, NotFound
from robotappel.ids import new_id, now_iso
from robotappel.models.listing import DeleteResult
from robotappel.models.twilio_numbers import InboundClientNumber, InboundParamsDto, TwilioNumber, UpdatePhoneNumberDto
from robotappel.numbers.compensation import record_without_charge
from robotappel.observability import logger, metrics

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

    from robotappel.twilio.gateway import IncomingNumber


# When the number picked from a search is taken meanwhile (21422), the next one is tried, a few at most.
MAX_PURCHASE_ATTEMPTS = 3


def buy_number(ctx: CallContext, dto: InboundParamsDto) -> TwilioNumber:
    """Search (or take the number asked for), buy, record and charge; a number that cannot be recorded is
    released again, so nothing is left bought at Twilio that we do not know of."""
    org_id = ctx.caller.org_id
    if dto.clientPhoneNumber:
        _require_client_phone(org_id, dto.clientPhoneNumber)
    ctx.meter.hold()
    bought = _buy_first_available(ctx, dto, _candidates(dto))
    item = {
        "id": new_id(numbers.TWILIO_NUMBER),
        "orgId": org_id,
        "kind": "twilio",
        "phoneNumber": bought.phone_number,
        "phoneNumberSid": bought.sid,
        "friendlyName": bought.friendly_name,
        "countryCode": dto.countryCode,
        "numberType": dto.numberType,
        "voiceUrl": bought.voice_url,
        "clientPhoneNumber": dto.clientPhoneNumber,
        "status": "active",
        "createdAt": now_iso(),
    }
    try:
        _commit_linked(ctx, numbers.put_twilio_number(item), dto.clientPhoneNumber)
    except Exception:
        _release_unrecorded(bought, org_id)
        raise
    metrics.add_metric(name="NumbersBought", unit="Count", value=1)
    return twilio_number(item)


def buy_number_once(ctx: CallContext, dto: InboundParamsDto, idempotency_key: str | None) -> TwilioNumber:
    """buy_number, made safe to retry with an Idempotency-Key: a replay returns the first result, uncharged."""
    if not idempotency_key:
        return buy_number(ctx, dto)
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    from robotappel.dal.idempotency import persistence_store

    config = IdempotencyConfig(
        event_key_jmespath="[orgId, idempotencyKey]",
        payload_validation_jmespath="body",
        expires_after_seconds=24 * 3600,
    )
    if ctx.lambda_context:
        # Bounds the in-progress record by the invocation's deadline: a purchase cut short by a timeout must not
        # leave its key "in progress" (409) until the record expires.
        config.register_lambda_context(ctx.lambda_context)

    # `request` is what Powertools hashes (key) and compares (payload); the purchase itself uses ctx and dto.
    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="request", persistence_store=persistence_store(), config=config
    )
    def buy(request: dict[str, Any]) -> dict[str, Any]:  # noqa: ARG001
        return buy_number(ctx, dto).model_dump(mode="json")

    request = {"orgId": ctx.caller.org_id, "idempotencyKey": idempotency_key, "body": dto.model_dump(mode="json")}
    try:
        result = buy(request=request)
    except IdempotencyValidationError as error:
        raise InvalidInput("Idempotency-Key", "This Idempotency-Key was used with another request body.") from error
    except IdempotencyAlreadyInProgressError as error:
        raise Conflict("A request with this Idempotency-Key is in progress.", code="request_in_progress") from error
    if not ctx.meter.settled:
        ctx.meter.waive()
    return TwilioNumber.model_validate(result)


def _candidates(dto: InboundParamsDto) -> list[str]:
    if dto.phoneNumber:
        return [dto.phoneNumber]
    from robotappel.twilio import gateway

    found = gateway.search_available_numbers(
        dto.countryCode, dto.numberType, area_code=dto.areaCode, contains=dto.contains, limit=MAX_PURCHASE_ATTEMPTS
    )
    if not found:
        raise Conflict("Twilio has no number matching these criteria.", code="no_numbers_available")
    return found


def _buy_first_available(ctx: CallContext, dto: InboundParamsDto, candidates: list[str]) -> "IncomingNumber":
    from robotappel.twilio import gateway

    voice_url = str(dto.voiceUrl or get_settings().inbound_voice_url)
    for attempt, candidate in enumerate(candidates[:MAX_PURCHASE_ATTEMPTS], start=1):
        try:
            return gateway.buy_number(
                candidate,
                voice_url=voice_url,
                status_callback=ctx.public_base_url + CALL_STATUS_PATH,
                friendly_name=dto.friendlyName or candidate,
                bundle_sid=dto.bundleSid,
                address_sid=dto.addressSid,
            )
        except Conflict as taken:
            if taken.error_code != "number_unavailable" or attempt == min(len(candidates), MAX_PURCHASE_ATTEMPTS):
                raise
            logger.info("number taken meanwhile, trying the next one", extra={"attempt": attempt})
    raise AssertionError("unreachable: the loop returns or raises")


def _release_unrecorded(bought: "IncomingNumber", org_id: str) -> None:
    from robotappel.twilio import gateway

    metrics.add_metric(name="CompensationsRun", unit="Count", value=1)
    reconcile = {"phoneNumberSid": bought.sid, "phoneNumber": bought.phone_number, "orgId": org_id}
    try:
        gateway.release_number(bought.sid)
    except Exception:
        # Reconcile by hand: this number is bought at Twilio and recorded nowhere.
        logger.exception("COMPENSATION_FAILED: bought number could not be recorded nor released", extra=reconcile)
        metrics.add_metric(name="CompensationsFailed", unit="Count", value=1)
        return
    logger.warning("bought number released again: it could not be recorded", extra=reconcile)


def list_twilio_numbers(ctx: CallContext) -> list[TwilioNumber]:
    return [twilio_number(item) for item in numbers.list_numbers(ctx.caller.org_id, numbers.TWILIO_NUMBER)]


def find_by_client_phone(ctx: CallContext, raw_client_phone: str) -> InboundClientNumber:
    from robotappel.models.phone import parse_e164

    # API Gateway (REST) passes the path still percent-encoded: "%2B33612345678", "06%2012%2034%2056%2078".
    try:
        client_phone = parse_e164(unquote(raw_client_phone).strip())
    except ValueError as error:
        raise InvalidInput("clientPhoneNumber", str(error)) from error
    item = numbers.find_linked_twilio_number(ctx.caller.org_id, client_phone)
    if item is None:
        raise NotFound(f"No Twilio number of this organisation is linked to {client_phone}.")
    return InboundClientNumber(
        clientPhoneNumber=client_phone,
        twilioNumber=item["phoneNumber"],
        phoneNumberSid=item["phoneNumberSid"],
        orgId=item["orgId"],
        id=item["id"],
    )


def update_number(ctx: CallContext, number_id: str, dto: UpdatePhoneNumberDto) -> TwilioNumber:
    from robotappel.twilio import gateway

    item = _live_twilio_number(ctx.caller.org_id, number_id)
    changes, removals = _changes(ctx.caller.org_id, dto)
    ctx.meter.hold()
    at_twilio = {"friendly_name": dto.friendlyName, "voice_url": str(dto.voiceUrl) if dto.voiceUrl else None}
    if any(at_twilio.values()):
        gateway.update_number(item["phoneNumberSid"], **at_twilio)
    try:
        _commit_linked(
            ctx, numbers.update_number(item["orgId"], number_id, changes, removals), changes.get("clientPhoneNumber")
        )
    except Exception:
        if any(at_twilio.values()):
            _restore_at_twilio(item)
        raise
    updated = {key: value for key, value in {**item, **changes}.items() if key not in removals}
    return twilio_number(updated)


def _changes(org_id: str, dto: UpdatePhoneNumberDto) -> tuple[dict[str, Any], tuple[str, ...]]:
    changes: dict[str, Any] = {}
    if dto.friendlyName is not None:
        changes["friendlyName"] = dto.friendlyName
    if dto.voiceUrl is not None:
        changes["voiceUrl"] = str(dto.voiceUrl)
    removals: tuple[str, ...] = ()
    if dto.clientPhoneNumber == "":
        removals = ("clientPhoneNumber",)
    elif dto.clientPhoneNumber:
        _require_client_phone(org_id, dto.clientPhoneNumber)
        changes["clientPhoneNumber"] = dto.clientPhoneNumber
    if not changes and not removals:
        raise InvalidInput("body", "Nothing to update: give friendlyName, voiceUrl or clientPhoneNumber.")
    return changes, removals


def _require_client_phone(org_id: str, client_phone: str) -> None:
    """A Twilio number may only be linked to a client phone of its own org (checked before Twilio is called)."""
    if not numbers.client_phone_exists(org_id, client_phone):
        raise _not_a_client_phone(client_phone)


def _commit_linked(ctx: CallContext, state_change: list["TransactWriteItemTypeDef"], client_phone: str | None) -> None:
    """Commit a number's state change; when it links a client phone, only if that phone still exists then (a
    concurrent delete after `_require_client_phone` would leave the number linked to nothing)."""
    if not client_phone:
        ctx.meter.commit(state_change)
        return
    try:
        ctx.meter.commit([*state_change, numbers.client_phone_still_exists(ctx.caller.org_id, client_phone)])
    except ConditionFailed as failure:
        if failure.failed_at(len(state_change)):
            raise _not_a_client_phone(client_phone) from failure
        raise


def _not_a_client_phone(client_phone: str) -> InvalidInput:
    return InvalidInput("clientPhoneNumber", f"{client_phone} is not a client phone of this organisation.")


def _restore_at_twilio(item: Item) -> None:
    from robotappel.twilio import gateway

    try:
        gateway.update_number(item["phoneNumberSid"], friendly_name=item["friendlyName"], voice_url=item["voiceUrl"])
    except Exception:
        logger.exception(
            "COMPENSATION_FAILED: Twilio number left updated", extra={"phoneNumberSid": item["phoneNumberSid"]}
        )


def release_number(ctx: CallContext, item: Item) -> DeleteResult:
    from robotappel.twilio import gateway

    ctx.meter.hold()
    released = gateway.release_number(item["phoneNumberSid"])
    tombstone = numbers.update_number(
        item["orgId"], item["id"], {"status": "released", "releasedAt": now_iso()}, removals=("clientPhoneNumber",)
    )
    try:
        ctx.meter.commit(tombstone)
    except ConditionFailed as failure:
        raise NotFound("No phone number with this id.") from failure
    except Exception:
        record_without_charge(tombstone, phoneNumberSid=item["phoneNumberSid"], numberId=item["id"])
        raise
    metrics.add_metric(name="NumbersReleased", unit="Count", value=1)
    sid = item["phoneNumberSid"]
    return DeleteResult(
        phoneNumber=item["phoneNumber"],
        twillioResponse=f"number {sid} released" if released else f"number {sid} was already released",
        dbResponse=f"twilio number {item['id']} marked released",
    )


def _live_twilio_number(org_id: str, number_id: str) -> Item:
    item = numbers.get_number(org_id, number_id)
    if item is None or item.get("kind") != "twilio" or item.get("status") == "released":
        raise NotFound("No Twilio number with this id.")
    return item


def twilio_number(item: Item) -> TwilioNumber:
    return TwilioNumber(
        id=item["id"],
        orgId=item["orgId"],
        phoneNumber=item["phoneNumber"],
        phoneNumberSid=item["phoneNumberSid"],
        friendlyName=item["friendlyName"],
        countryCode=item["countryCode"],
        numberType=item["numberType"],
        voiceUrl=item["voiceUrl"],
        clientPhoneNumber=item.get("clientPhoneNumber"),
        status="active",
        createdAt=item["createdAt"],
    )
