"""Twilio numbers: bought for an org, activated for inbound calls, optionally linked to one of its client phones
(buy, update, release)."""

import hashlib
import random
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from robotappel.config import get_settings
from robotappel.dal import idempotency, numbers
from robotappel.dal.dynamodb import ConditionFailed, Write, transact
from robotappel.dal.numbers import TwilioNumberRecord
from robotappel.errors import Conflict, InProgress, InvalidInput, NotFound, UpstreamFailure
from robotappel.ids import new_id, now_iso
from robotappel.models.listing import DeleteResult
from robotappel.models.phone import NumberType, country_of, number_type
from robotappel.models.twilio_numbers import InboundParamsDto, TwilioNumber, UpdatePhoneNumberDto
from robotappel.numbers.automated_calling import assess, reserved_patterns
from robotappel.numbers.call_policy import require_platform_voice_url
from robotappel.numbers.compensation import record_without_charge
from robotappel.numbers.context import CallContext
from robotappel.numbers.views import twilio_number
from robotappel.numbers.webhooks import call_status_url
from robotappel.observability import logger, metrics
from robotappel.tenants.subaccounts import account_of
from robotappel.twilio import gateway
from robotappel.twilio.gateway import IncomingNumber
from robotappel.twilio.tags import UNNAMED, tagged

# When the number picked from a search is taken meanwhile (21422), the next one is tried, a few at most.
MAX_PURCHASE_ATTEMPTS = 3
# An update that loses the race with another update of the same number is applied again on top, a few times at most.
UPDATE_RACE_ATTEMPTS = 3
# An Idempotency-Key's purchase run outside Lambda (no deadline known) is leased for the function's timeout.
DEFAULT_LEASE_SECONDS = 29
# Twilio's refusals of a purchase for want of the right regulatory documents (twilio/errors.py).
REGULATORY_REFUSALS = ("bundle_required", "bundle_not_approved", "address_required", "address_not_accepted")


@dataclass(frozen=True)
class _Order:
    """What is bought: the country and type the number really has, with the regulatory documents to show."""

    country_code: str
    number_type: NumberType
    bundle_sid: str | None
    address_sid: str | None


def buy_number(ctx: CallContext, dto: InboundParamsDto, number_id: str | None = None) -> TwilioNumber:
    """Search (or take the number asked for), buy, record and charge; `number_id` is the id the purchase (and the
    number) is written under, a new one unless an Idempotency-Key named it already.

    Write-ahead: the purchase intent (with its hold) is recorded before Twilio is asked, and the number is bought
    tagged with its id. A purchase whose outcome at Twilio is unknown (the answer was lost) leaves the intent to
    the reconciler, which records and charges the number if Twilio has it, or refunds; a retry with the same
    Idempotency-Key may resume it first. A number bought but not recorded is released again at once; if even that
    fails, the reconciler finds it by its tag."""
    org_id = ctx.caller.org_id
    require_platform_voice_url(dto.voiceUrl)
    if dto.clientPhoneNumber:
        _require_client_phone(org_id, dto.clientPhoneNumber)
    order = _order(org_id, dto)
    ctx.meter.hold()
    candidates = _candidates(account_of(ctx.caller.org_id), dto, order)
    number_id = number_id or new_id(numbers.TWILIO_NUMBER)
    intent = numbers.PurchaseIntentRecord(
        id=number_id,
        org_id=org_id,
        created_at=now_iso(),
        hold=ctx.meter.entry,
        twilio_friendly_name=tagged(number_id, dto.friendlyName or UNNAMED),
        friendly_name=dto.friendlyName,
        country_code=order.country_code,
        number_type=order.number_type,
        voice_url=str(dto.voiceUrl or get_settings().inbound_voice_url),
        client_phone_number=dto.clientPhoneNumber,
    )
    numbers.put_purchase_intent(intent)
    ctx.meter.entrust()  # from now on a failure leaves the hold to the intent (the reconciler), unless reclaimed
    return _purchase(ctx, intent, order, candidates)


def _resume(ctx: CallContext, dto: InboundParamsDto, intent: numbers.PurchaseIntentRecord) -> TwilioNumber:
    """Take up a purchase left under way (its answer lost, or its function gone), paid by the intent's hold: the
    number Twilio has under its tag is recorded; if Twilio has none, it is bought now, under the same tag."""
    ctx.meter.adopt(intent.hold)
    found = gateway.find_numbers(account_of(intent.org_id), intent.twilio_friendly_name)
    if found:
        return _record(ctx, intent, found[0])
    order = _order(ctx.caller.org_id, dto)
    return _purchase(ctx, intent, order, _candidates(account_of(ctx.caller.org_id), dto, order))


def _purchase(
    ctx: CallContext, intent: numbers.PurchaseIntentRecord, order: _Order, candidates: list[str]
) -> TwilioNumber:
    try:
        bought = _buy_first_available(ctx, intent, order, candidates)
    except UpstreamFailure:
        raise  # Twilio may have sold it: the intent and its hold wait for a retry or the reconciler
    except Exception:
        transact([numbers.close_purchase_intent(intent)])  # Twilio refused: nothing was bought
        ctx.meter.reclaim()
        raise
    return _record(ctx, intent, bought)


def _record(ctx: CallContext, intent: numbers.PurchaseIntentRecord, bought: IncomingNumber) -> TwilioNumber:
    """Record the number bought and charge the intent's hold, in one transaction. If that transaction seems to
    fail, what committed is read before anything is undone: a commit DynamoDB applied (its answer lost), or the
    reconciler's recording of the same intent, is the purchase done and charged once; only a number no record
    holds is released (and its hold refunded)."""
    record = intent.recorded_as(bought.phone_number, bought.sid, bought.voice_url)
    try:
        _commit_linked(
            ctx,
            [numbers.put_twilio_number(record), numbers.close_purchase_intent(intent)],
            intent.client_phone_number,
        )
    except Exception:
        recorded = numbers.find_purchase(intent.org_id, intent.id)  # if this fails too, the reconciler decides
        if isinstance(recorded, TwilioNumberRecord) and recorded.phone_number_sid == bought.sid:
            logger.warning("the purchase's commit was applied though it reported a failure")
            ctx.meter.committed()
            return _bought(recorded)
        if _release_unrecorded(bought, intent.org_id):
            with suppress(Exception):  # else the reconciler closes it: Twilio no longer has its number
                transact([numbers.close_purchase_intent(intent)])
                ctx.meter.reclaim()
        raise
    return _bought(record)


def _bought(record: TwilioNumberRecord) -> TwilioNumber:
    metrics.add_metric(name="NumbersBought", unit="Count", value=1)
    return twilio_number(record)


def buy_number_once(ctx: CallContext, dto: InboundParamsDto, idempotency_key: str | None) -> TwilioNumber:
    """buy_number, made safe to retry with an Idempotency-Key, whatever answer the first try got: the key names one
    purchase (its intent's id, its tag at Twilio) from its first use on. A retry answers with the number once it is
    recorded (uncharged), resumes the purchase while it is under way, and starts it again, under the same id, only
    when nothing of it remains (it failed before Twilio, or Twilio refused it). One invocation at a time runs it:
    another gets 409 in_progress with Retry-After. A retry after the number was released is 409 conflict: the key's
    purchase was made, and neither a released number (no longer the client's) nor a second one is the answer."""
    if not idempotency_key:
        return buy_number(ctx, dto)
    body_hash = hashlib.sha256(dto.model_dump_json().encode()).hexdigest()
    try:
        lease = idempotency.claim(
            ctx.caller.org_id, idempotency_key, body_hash, new_id(numbers.TWILIO_NUMBER), _lease_seconds(ctx)
        )
    except idempotency.KeyBodyDiffers as error:
        raise InvalidInput("Idempotency-Key", "This Idempotency-Key was used with another request body.") from error
    except idempotency.KeyBusy as busy:
        raise InProgress(
            "A request with this Idempotency-Key is in progress.", retry_after_seconds=busy.retry_after_seconds
        ) from busy
    try:
        purchase = None if lease.first else numbers.find_purchase(ctx.caller.org_id, lease.number_id)
        if isinstance(purchase, TwilioNumberRecord) and purchase.status == "released":
            raise Conflict(
                f"The purchase this Idempotency-Key names was made (number {purchase.id}) and that number has been "
                "released since. To buy another number, use a new Idempotency-Key."
            )
        if isinstance(purchase, TwilioNumberRecord):
            ctx.meter.waive()  # a replay: the purchase was paid for when it was recorded
            return twilio_number(purchase)
        if isinstance(purchase, numbers.PurchaseIntentRecord):
            return _resume(ctx, dto, purchase)
        return buy_number(ctx, dto, number_id=lease.number_id)
    finally:
        idempotency.release(lease)


def _lease_seconds(ctx: CallContext) -> float:
    """How long this invocation may run the key's purchase: until its deadline (a function that times out leaves
    the key to the next retry then, not to the key's expiry)."""
    if ctx.lambda_context:
        return ctx.lambda_context.get_remaining_time_in_millis() / 1000
    return DEFAULT_LEASE_SECONDS


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


def _candidates(account: str, dto: InboundParamsDto, order: _Order) -> list[str]:
    """The numbers to try. For automated calls, a search per range the rule table allows (Twilio's inventories
    hold few of them: a plain search would seldom find one), in random order, until one has numbers; a client's
    own `contains` pattern is searched instead, and what it finds filtered by the rule table."""
    if dto.phoneNumber:
        return [dto.phoneNumber]
    if not dto.automatedCalling:
        patterns: list[str | None] = [dto.contains]
    elif dto.contains:
        patterns = [dto.contains]
    else:
        patterns = list(reserved_patterns(order.country_code, order.number_type))
        random.shuffle(patterns)  # spreads the org's numbers over the ranges, and the searches over time
    for pattern in patterns:
        found = gateway.search_available_numbers(
            account,
            order.country_code,
            order.number_type,
            area_code=dto.areaCode,
            contains=pattern,
            limit=MAX_PURCHASE_ATTEMPTS,
        )
        if dto.automatedCalling:
            found = [number for number in found if assess(number).status == "allowed"]
        if found:
            return found
    raise Conflict("Twilio has no number matching these criteria.", code="no_numbers_available")


def _buy_first_available(
    ctx: CallContext, intent: numbers.PurchaseIntentRecord, order: _Order, candidates: list[str]
) -> IncomingNumber:
    for attempt, candidate in enumerate(candidates[:MAX_PURCHASE_ATTEMPTS], start=1):
        try:
            return gateway.buy_number(
                account_of(intent.org_id),
                candidate,
                voice_url=intent.voice_url,
                status_callback=call_status_url(ctx.public_base_url, intent.id),
                friendly_name=intent.twilio_friendly_name,
                bundle_sid=order.bundle_sid,
                address_sid=order.address_sid,
            )
        except Conflict as taken:
            if taken.error_code != "number_unavailable" or attempt == min(len(candidates), MAX_PURCHASE_ATTEMPTS):
                raise
            logger.info("number taken meanwhile, trying the next one", extra={"attempt": attempt})
        except InvalidInput as refused:
            if refused.error_code in REGULATORY_REFUSALS:
                raise _what_to_do(refused, order) from refused
            raise
    raise AssertionError("unreachable: the loop returns or raises")


def _what_to_do(refused: InvalidInput, order: _Order) -> InvalidInput:
    """Twilio's refusal, saying which country and number type need what, and where to set it."""
    country, kind = order.country_code, order.number_type
    return InvalidInput(
        refused.field,
        f"{refused.message} This is a {country} {kind} number: name a bundle and an address made for {country} "
        f"{kind} numbers in the purchase (bundleSid, addressSid), or set your default for them with "
        f'PUT /phoneNumber/regulatory/{country} {{"numberType": "{kind}", "bundleSid": "BU…", "addressSid": "AD…"}}.',
        code=refused.error_code,
    )


def _release_unrecorded(bought: IncomingNumber, org_id: str) -> bool:
    """Release a number bought but not recorded; False if that failed too (the reconciler finds it by its tag)."""
    metrics.add_metric(name="CompensationsRun", unit="Count", value=1)
    reconcile = {"phoneNumberSid": bought.sid, "phoneNumber": bought.phone_number, "orgId": org_id}
    try:
        gateway.release_number(account_of(org_id), bought.sid)
    except Exception:
        logger.exception("COMPENSATION_FAILED: bought number could not be recorded nor released", extra=reconcile)
        metrics.add_metric(name="CompensationsFailed", unit="Count", value=1)
        return False
    logger.warning("bought number released again: it could not be recorded", extra=reconcile)
    return True


def update_number(ctx: CallContext, number_id: str, dto: UpdatePhoneNumberDto) -> TwilioNumber:
    """Change the number at Twilio, then its record, conditioned on the record's version as read. A concurrent
    update that committed first is not overwritten silently: this one is applied again on top of it, at Twilio
    and in the record (so both end with the later one); after UPDATE_RACE_ATTEMPTS lost races, 409 conflict, and
    Twilio is put back as the record says."""
    require_platform_voice_url(dto.voiceUrl)
    record = _live_twilio_number(ctx.caller.org_id, number_id)
    changes = _changes(ctx.caller.org_id, dto)
    ctx.meter.hold()
    at_twilio = {
        "friendly_name": tagged(record.id, dto.friendlyName) if dto.friendlyName else None,
        "voice_url": str(dto.voiceUrl) if dto.voiceUrl else None,
    }
    for _ in range(UPDATE_RACE_ATTEMPTS):
        updated = record.model_copy(update=changes)
        if any(at_twilio.values()):
            try:
                gateway.update_number(account_of(record.org_id), record.phone_number_sid, **at_twilio)
            except UpstreamFailure:
                _restore_at_twilio(record)  # Twilio may have applied it before its answer was lost
                raise
        try:
            _commit_linked(ctx, [numbers.save_number(record, updated, versioned=True)], dto.clientPhoneNumber or None)
        except ConditionFailed as failure:
            if not failure.failed(numbers.NUMBER):
                raise
            latest = numbers.find_purchase(record.org_id, record.id)  # consistently: what won the race
            if not isinstance(latest, TwilioNumberRecord) or latest.status != "active":
                raise NotFound("No Twilio number with this id.") from failure  # released meanwhile
            record = latest
            continue
        except Exception:
            if any(at_twilio.values()):
                _restore_at_twilio(record)
            raise
        return twilio_number(updated)
    if any(at_twilio.values()):
        _restore_at_twilio(record)
    raise Conflict("This number was changed by another request meanwhile; read it and retry.")


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
            account_of(record.org_id),
            record.phone_number_sid,
            friendly_name=tagged(record.id, record.friendly_name),
            voice_url=record.voice_url,
        )
    except Exception:
        logger.exception(
            "COMPENSATION_FAILED: Twilio number left updated", extra={"phoneNumberSid": record.phone_number_sid}
        )


def release_number(ctx: CallContext, record: TwilioNumberRecord) -> DeleteResult:
    ctx.meter.hold()
    released = gateway.release_number(account_of(record.org_id), record.phone_number_sid)
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
