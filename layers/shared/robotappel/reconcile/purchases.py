"""Purchases a failure left behind, and numbers at Twilio that no record knows.

Policy for a purchase whose answer was lost: if Twilio has the number (found by its tag), it is recorded and
charged as the purchase would have been (the client asked for it, and a number given back may be gone for good);
if not, the intent is closed and its hold refunded. Only intents older than HOLD_EXPIRY are looked at: a younger
one may belong to a purchase still running.

A number at Twilio with neither record nor intent is released when it carries our tag and is older than
HOLD_EXPIRY (else a purchase may be between Twilio's answer and its record); one without our tag is not ours to
release: it is counted (metric and alarm) and listed in the log by its SID for an operator.
"""

from collections.abc import Callable
from datetime import UTC, datetime

from robotappel.dal import ledger, numbers
from robotappel.dal.dynamodb import ConditionFailed, transact
from robotappel.ids import iso, now_iso
from robotappel.observability import logger
from robotappel.reconcile import holds
from robotappel.twilio import gateway
from robotappel.twilio.gateway import IncomingNumber
from robotappel.twilio.tags import record_id_of

PURCHASE_FINDINGS = ("purchase_recorded_late", "purchase_never_made")
NUMBER_FINDINGS = ("orphan_number_released", "unknown_number_kept", "gone_number_marked_released")


def reconcile_purchases(out_of_time: Callable[[], bool]) -> dict[str, int]:
    findings = dict.fromkeys(PURCHASE_FINDINGS, 0)
    cutoff = iso(datetime.now(UTC) - holds.HOLD_EXPIRY)
    for intent in numbers.open_purchase_intents(created_before=cutoff):
        if out_of_time():
            return findings
        found = gateway.find_numbers(intent.twilio_friendly_name)
        if found:
            _record_late(intent, found[0])
            findings["purchase_recorded_late"] += 1
        else:
            _close_never_made(intent)
            findings["purchase_never_made"] += 1
    return findings


def reconcile_numbers(out_of_time: Callable[[], bool]) -> dict[str, int]:
    """Twilio's numbers against the records, both ways: a number no record knows, a record whose number is gone."""
    findings = dict.fromkeys(NUMBER_FINDINGS, 0)
    in_flight = {intent.id for intent in numbers.open_purchase_intents()}
    settled_before = datetime.now(UTC) - holds.HOLD_EXPIRY
    at_twilio: set[str] = set()
    for number in gateway.all_numbers():
        if out_of_time():
            return findings  # without the whole list, no record may be judged gone
        at_twilio.add(number.sid)
        if _is_recorded(number):
            continue
        record_id = record_id_of(number.friendly_name)
        if record_id is None:
            logger.warning("a Twilio number no record knows, not ours to release", extra={"sid": number.sid})
            findings["unknown_number_kept"] += 1
        elif record_id not in in_flight and number.date_created and number.date_created < settled_before:
            logger.warning("releasing our number that no record knows", extra={"sid": number.sid})
            gateway.release_number(number.sid)
            findings["orphan_number_released"] += 1
    for record in numbers.all_live_twilio_numbers():
        if out_of_time():
            break
        if record.phone_number_sid not in at_twilio and record.created_at < iso(settled_before):
            _mark_released(record)
            findings["gone_number_marked_released"] += 1
    return findings


def _mark_released(record: numbers.TwilioNumberRecord) -> None:
    """Twilio no longer has the number (released, or its release's answer was lost): the record says so."""
    try:
        transact(numbers.release_twilio_number(record, now_iso()))
    except ConditionFailed:
        return  # released or changed meanwhile
    logger.warning(
        "a number gone at Twilio marked released", extra={"numberId": record.id, "sid": record.phone_number_sid}
    )


def _record_late(intent: numbers.PurchaseIntentRecord, bought: IncomingNumber) -> None:
    """The number recorded, charged, and linked to the intent's client phone the way a purchase links it (the
    link counted on the phone's guard): a phone deleted meanwhile leaves the number recorded unlinked."""
    record = intent.recorded_as(bought.phone_number, bought.sid, bought.voice_url)
    charge = [ledger.settle(intent.hold)]
    link = (
        [numbers.link_to_client_phone(intent.org_id, record.client_phone_number)] if record.client_phone_number else []
    )
    while True:
        settle = [numbers.put_twilio_number(record), numbers.close_purchase_intent(intent)]
        try:
            transact([*settle, *charge, *link])
            break
        except ConditionFailed as failure:
            if failure.failed(numbers.PURCHASE_INTENT):
                return  # settled meanwhile by another run
            unlinked = bool(link) and failure.failed(numbers.LINKED_CLIENT_PHONE)
            uncharged = bool(charge) and failure.failed(ledger.CHARGE)
            if not (unlinked or uncharged):
                raise
            if unlinked:
                logger.warning(
                    "late purchase recorded unlinked: its client phone is gone", extra={"numberId": intent.id}
                )
                record, link = record.model_copy(update={"client_phone_number": None}), []
            if uncharged:
                # The hold is closed already: the number is recorded all the same, uncharged (logged for billing).
                logger.warning("late purchase recorded without its charge", extra={"numberId": intent.id})
                charge = []
    logger.info("purchase recorded late", extra={"numberId": intent.id, "intentOrgId": intent.org_id})


def _close_never_made(intent: numbers.PurchaseIntentRecord) -> None:
    try:
        transact([numbers.close_purchase_intent(intent)])
    except ConditionFailed:
        return  # settled meanwhile
    try:
        ledger.refund(intent.hold)
    except ConditionFailed:
        return  # the hold was closed already
    logger.info("purchase never made: refunded", extra={"numberId": intent.id, "intentOrgId": intent.org_id})


def _is_recorded(number: IncomingNumber) -> bool:
    return any(
        isinstance(record, numbers.TwilioNumberRecord) and record.phone_number_sid == number.sid
        for record in numbers.find_by_phone_number(number.phone_number)
    )
