"""Twilio numbers: bought for an org, activated for inbound calls, optionally linked to one of its client phones
(buy, update, release)."""

from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from robotappel.config import get_settings
from robotappel.dal import numbers
from robotappel.dal.dynamodb import ConditionFailed, Write, transact
from robotappel.dal.numbers import TwilioNumberRecord
from robotappel.errors import Conflict, InvalidInput, NotFound, UpstreamFailure
from robotappel.ids import new_id, now_iso
from robotappel.models.listing import DeleteResult
from robotappel.models.phone import NumberType, country_of, number_type
from robotappel.models.twilio_numbers import InboundParamsDto, TwilioNumber, UpdatePhoneNumberDto
from robotappel.numbers.automated_calling import assess
from robotappel.numbers.call_policy import require_platform_voice_url
from robotappel.numbers.compensation import record_without_charge
from robotappel.numbers.context import CallContext
from robotappel.numbers.views import twilio_number
from robotappel.numbers.webhooks import CALL_STATUS_PATH
from robotappel.observability import logger, metrics
from robotappel.twilio import gateway
from robotappel.twilio.gateway import IncomingNumber
from robotappel.twilio.tags import tagged

# When the number picked from a search is taken meanwhile (21422), the next one is tried, a few at most.
MAX_PURCHASE_ATTEMPTS = 3
# Numbers allowed for automated calling are a few ranges among many: a wider search, filtered by the rule table.
AUTOMATED_CALLING_SEARCH_SIZE = 30


@dataclass(frozen=True)
class _Order:
    """What is bought: the country and type the number really has, with the regulatory documents to show."""

    country_code: str
    number_type: NumberType
    bundle_sid: str | None
    address_sid: str | None


def buy_number(ctx: CallContext, dto: InboundParamsDto) -> TwilioNumber:
    """Search (or take the number asked for), buy, record and charge.

    Write-ahead: the purchase intent (with its hold) is recorded before Twilio is asked, and the number is bought
    tagged with its id. A purchase whose outcome at Twilio is unknown (the answer was lost) leaves the intent to
    the reconciler, which records and charges the number if Twilio has it, or refunds. A number bought but not
    recorded is released again at once; if even that fails, the reconciler finds it by its tag."""
    org_id = ctx.caller.org_id
    require_platform_voice_url(dto.voiceUrl)
    if dto.clientPhoneNumber:
        _require_client_phone(org_id, dto.clientPhoneNumber)
    order = _order(org_id, dto)
    ctx.meter.hold()
    candidates = _candidates(dto, order)
    number_id = new_id(numbers.TWILIO_NUMBER)
    intent = numbers.PurchaseIntentRecord(
        id=number_id,
        org_id=org_id,
        created_at=now_iso(),
        hold=ctx.meter.entry,
        twilio_friendly_name=tagged(number_id, dto.friendlyName or "bought"),
        friendly_name=dto.friendlyName,
        country_code=order.country_code,
        number_type=order.number_type,
        voice_url=str(dto.voiceUrl or get_settings().inbound_voice_url),
        client_phone_number=dto.clientPhoneNumber,
    )
    numbers.put_purchase_intent(intent)
    ctx.meter.entrust()  # from now on a failure leaves the hold to the intent (the reconciler), unless reclaimed
    try:
        bought = _buy_first_available(ctx, intent, order, candidates)
    except UpstreamFailure:
        raise  # Twilio may have sold it: the intent and its hold wait for the reconciler
    except Exception:
        transact([numbers.close_purchase_intent(intent)])  # Twilio refused: nothing was bought
        ctx.meter.reclaim()
        raise
    record = intent.recorded_as(bought.phone_number, bought.sid, bought.voice_url)
    try:
        _commit_linked(
            ctx,
            [numbers.put_twilio_number(record), numbers.close_purchase_intent(intent)],
            intent.client_phone_number,
        )
    except Exception:
        if _release_unrecorded(bought, org_id):
            with suppress(Exception):  # else the reconciler closes it: Twilio no longer has its number
                transact([numbers.close_purchase_intent(intent)])
                ctx.meter.reclaim()
        raise
    metrics.add_metric(name="NumbersBought", unit="Count", value=1)
    return twilio_number(record)


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


def _order(org_id: str, dto: InboundParamsDto) -> _Order:
    """An explicit number is bought as what it is; a purchase that names no bundle nor address uses the org's
    regulatory default for that country and type, if it has one."""
    if dto.phoneNumber:
        if dto.automatedCalling and (assessment := assess(dto.phoneNumber)).status != "allowed":
            raise InvalidInput("phoneNumber", f"This number may not place automated calls: {assessment.rule}")
        country, kind = country_of(dto.phoneNumber), number_type(dto.phoneNumber) or dto.numberType
    else:
        country, kind = dto.countryCode, dto.numberType
    if dto.bundleSid or dto.addressSid:
        return _Order(country, kind, dto.bundleSid, dto.addressSid)
    default = numbers.get_regulatory_default(org_id, country, kind)
    if default is None:
        return _Order(country, kind, None, None)
    return _Order(country, kind, default.bundle_sid, default.address_sid)


def _candidates(dto: InboundParamsDto, order: _Order) -> list[str]:
    if dto.phoneNumber:
        return [dto.phoneNumber]
    found = gateway.search_available_numbers(
        order.country_code,
        order.number_type,
        area_code=dto.areaCode,
        contains=dto.contains,
        limit=AUTOMATED_CALLING_SEARCH_SIZE if dto.automatedCalling else MAX_PURCHASE_ATTEMPTS,
    )
    if dto.automatedCalling:
        found = [number for number in found if assess(number).status == "allowed"]
    if not found:
        raise Conflict("Twilio has no number matching these criteria.", code="no_numbers_available")
    return found


def _buy_first_available(
    ctx: CallContext, intent: numbers.PurchaseIntentRecord, order: _Order, candidates: list[str]
) -> IncomingNumber:
    for attempt, candidate in enumerate(candidates[:MAX_PURCHASE_ATTEMPTS], start=1):
        try:
            return gateway.buy_number(
                candidate,
                voice_url=intent.voice_url,
                status_callback=ctx.public_base_url + CALL_STATUS_PATH,
                friendly_name=intent.twilio_friendly_name,
                bundle_sid=order.bundle_sid,
                address_sid=order.address_sid,
            )
        except Conflict as taken:
            if taken.error_code != "number_unavailable" or attempt == min(len(candidates), MAX_PURCHASE_ATTEMPTS):
                raise
            logger.info("number taken meanwhile, trying the next one", extra={"attempt": attempt})
    raise AssertionError("unreachable: the loop returns or raises")


def _release_unrecorded(bought: IncomingNumber, org_id: str) -> bool:
    """Release a number bought but not recorded; False if that failed too (the reconciler finds it by its tag)."""
    metrics.add_metric(name="CompensationsRun", unit="Count", value=1)
    reconcile = {"phoneNumberSid": bought.sid, "phoneNumber": bought.phone_number, "orgId": org_id}
    try:
        gateway.release_number(bought.sid)
    except Exception:
        logger.exception("COMPENSATION_FAILED: bought number could not be recorded nor released", extra=reconcile)
        metrics.add_metric(name="CompensationsFailed", unit="Count", value=1)
        return False
    logger.warning("bought number released again: it could not be recorded", extra=reconcile)
    return True


def update_number(ctx: CallContext, number_id: str, dto: UpdatePhoneNumberDto) -> TwilioNumber:
    require_platform_voice_url(dto.voiceUrl)
    record = _live_twilio_number(ctx.caller.org_id, number_id)
    updated = record.model_copy(update=_changes(ctx.caller.org_id, dto))
    ctx.meter.hold()
    at_twilio = {
        "friendly_name": tagged(record.id, dto.friendlyName) if dto.friendlyName else None,
        "voice_url": str(dto.voiceUrl) if dto.voiceUrl else None,
    }
    if any(at_twilio.values()):
        try:
            gateway.update_number(record.phone_number_sid, **at_twilio)
        except UpstreamFailure:
            _restore_at_twilio(record)  # Twilio may have applied it before its answer was lost
            raise
    try:
        _commit_linked(ctx, [numbers.save_number(record, updated)], dto.clientPhoneNumber or None)
    except Exception:
        if any(at_twilio.values()):
            _restore_at_twilio(record)
        raise
    return twilio_number(updated)


def _changes(org_id: str, dto: UpdatePhoneNumberDto) -> dict[str, Any]:
    """The record's fields to change; clientPhoneNumber "" removes the link."""
    changes: dict[str, Any] = {}
    if dto.friendlyName is not None:
        changes["friendly_name"] = dto.friendlyName
    if dto.voiceUrl is not None:
        changes["voice_url"] = str(dto.voiceUrl)
    if dto.clientPhoneNumber == "":
        changes["client_phone_number"] = None
    elif dto.clientPhoneNumber:
        _require_client_phone(org_id, dto.clientPhoneNumber)
        changes["client_phone_number"] = dto.clientPhoneNumber
    if not changes:
        raise InvalidInput("body", "Nothing to update: give friendlyName, voiceUrl or clientPhoneNumber.")
    return changes


def _require_client_phone(org_id: str, client_phone: str) -> None:
    """A Twilio number may only be linked to a client phone of its own org (checked before Twilio is called)."""
    if not numbers.client_phone_exists(org_id, client_phone):
        raise _not_a_client_phone(client_phone)


def _commit_linked(ctx: CallContext, state_change: list[Write], client_phone: str | None) -> None:
    """Commit a number's state change; when it links a client phone, only if that phone still exists then (a
    concurrent delete after `_require_client_phone` would leave the number linked to nothing)."""
    if not client_phone:
        ctx.meter.commit(state_change)
        return
    try:
        ctx.meter.commit([*state_change, numbers.link_to_client_phone(ctx.caller.org_id, client_phone)])
    except ConditionFailed as failure:
        if failure.failed(numbers.LINKED_CLIENT_PHONE):
            raise _not_a_client_phone(client_phone) from failure
        raise


def _not_a_client_phone(client_phone: str) -> InvalidInput:
    return InvalidInput("clientPhoneNumber", f"{client_phone} is not a client phone of this organisation.")


def _restore_at_twilio(record: TwilioNumberRecord) -> None:
    try:
        gateway.update_number(
            record.phone_number_sid, friendly_name=tagged(record.id, record.friendly_name), voice_url=record.voice_url
        )
    except Exception:
        logger.exception(
            "COMPENSATION_FAILED: Twilio number left updated", extra={"phoneNumberSid": record.phone_number_sid}
        )


def release_number(ctx: CallContext, record: TwilioNumberRecord) -> DeleteResult:
    ctx.meter.hold()
    released = gateway.release_number(record.phone_number_sid)
    tombstone = numbers.release_twilio_number(record, now_iso())
    try:
        ctx.meter.commit(tombstone)
    except Exception as failure:
        if isinstance(failure, ConditionFailed) and failure.failed(numbers.NUMBER):
            raise NotFound("No phone number with this id.") from failure
        record_without_charge(tombstone, phoneNumberSid=record.phone_number_sid, numberId=record.id)
        raise
    metrics.add_metric(name="NumbersReleased", unit="Count", value=1)
    sid = record.phone_number_sid
    return DeleteResult(
        phoneNumber=record.phone_number,
        twillioResponse=f"number {sid} released" if released else f"number {sid} was already released",
        dbResponse=f"twilio number {record.id} marked released",
    )


def _live_twilio_number(org_id: str, number_id: str) -> TwilioNumberRecord:
    record = numbers.get_number(org_id, number_id)
    if not isinstance(record, TwilioNumberRecord) or record.status == "released":
        raise NotFound("No Twilio number with this id.")
    return record
