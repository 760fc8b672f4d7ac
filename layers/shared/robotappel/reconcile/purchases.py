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
from functools import partial

from robotappel.dal import ledger, numbers
from robotappel.dal.dynamodb import ConditionFailed, Item, transact
from robotappel.ids import iso
from robotappel.observability import logger
from robotappel.reconcile import destroy, drift, holds
from robotappel.reconcile.destroy import Brake
from robotappel.reconcile.isolation import Isolation
from robotappel.twilio import gateway
from robotappel.twilio.gateway import IncomingNumber
from robotappel.twilio.tags import record_id_of

PURCHASE_FINDINGS = ("purchase_recorded_late", "purchase_never_made")
LISTED_NOTHING = "twilio_listed_nothing"
NUMBER_FINDINGS = ("orphan_number_released", "unknown_number_kept", "gone_number_marked_released", LISTED_NOTHING)


def reconcile_purchases(out_of_time: Callable[[], bool], isolation: Isolation) -> dict[str, int]:
    """Each intent on its own (`isolation`): a malformed or failing one is skipped, and parked if it keeps failing."""
    findings = dict.fromkeys(PURCHASE_FINDINGS, 0)
    cutoff = iso(datetime.now(UTC) - holds.HOLD_EXPIRY)
    for item in numbers.open_purchase_intent_items(created_before=cutoff):
        if out_of_time():
            return findings
        kind = isolation.run(f"{item.get('orgId')}/{item.get('sk')}", partial(_settle_intent, item))
        if kind:
            findings[kind] += 1
    return findings


def _settle_intent(item: Item) -> str:
    intent = numbers.purchase_intent(item)
    found = gateway.find_numbers(intent.twilio_friendly_name)
    if found:
        _record_late(intent, found[0])
        return "purchase_recorded_late"
    _close_never_made(intent)
    return "purchase_never_made"


def reconcile_numbers(out_of_time: Callable[[], bool], brake: Brake, isolation: Isolation) -> dict[str, int]:
    """Twilio's numbers against the records, both ways: a number no record knows, a record whose number is gone.
    What it destroys, it destroys through `destroy`, on proof and within the run's `brake`; each number on its
    own (`isolation`)."""
    findings = dict.fromkeys((*NUMBER_FINDINGS, *drift.FINDINGS), 0)
    in_flight = {
        item.get("id") for item in numbers.open_purchase_intent_items()
    }  # read as stored: one malformed fails alone
    settled_before = datetime.now(UTC) - holds.HOLD_EXPIRY
    at_twilio: set[str] = set()
    for number in gateway.all_numbers():
        if out_of_time():
            return findings  # without the whole list, no record may be judged gone
        at_twilio.add(number.sid)
        if record := _owning_record(number):
            set_right = partial(drift.set_right, number, record, dry_run=brake.dry_run)
            findings[drift.DRIFT_SET_RIGHT] += bool(isolation.run(number.sid, set_right))
            continue
        record_id = record_id_of(number.friendly_name)
        if record_id is None:
            logger.warning("a Twilio number no record knows, not ours to release", extra={"sid": number.sid})
            findings["unknown_number_kept"] += 1
        elif record_id not in in_flight and number.date_created and number.date_created < settled_before:
            released = isolation.run(number.sid, partial(_release_if_orphan, number, brake))
            findings["orphan_number_released"] += bool(released)
    for record in numbers.all_live_twilio_numbers():
        if out_of_time():
            break
        if not at_twilio and not findings[LISTED_NOTHING]:
            # Every number gone at once is a wrong account or a failed listing, not a fact: nothing is released.
            brake.stop(LISTED_NOTHING)
            findings[LISTED_NOTHING] = 1
        if record.phone_number_sid not in at_twilio and record.created_at < iso(settled_before):
            marked = isolation.run(
                f"{record.org_id}/{numbers.number_sk(record.id)}", partial(_mark_if_gone, record, brake)
            )
            findings["gone_number_marked_released"] += bool(marked)
    return findings


def _release_if_orphan(number: IncomingNumber, brake: Brake) -> bool:
    return destroy.release_orphan_number(
        fetched=gateway.fetch_number(number.sid),
        owners=numbers.find_by_phone_number(number.phone_number),
        brake=brake,
    )


def _mark_if_gone(listed: numbers.TwilioNumberRecord, brake: Brake) -> bool:
    return destroy.mark_number_released(
        record=numbers.get_number(listed.org_id, listed.id, consistent=True),
        sid=listed.phone_number_sid,
        fetched=gateway.fetch_number(listed.phone_number_sid),
        brake=brake,
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


def _owning_record(number: IncomingNumber) -> numbers.TwilioNumberRecord | None:
    return next(
        (
            record
            for record in numbers.find_by_phone_number(number.phone_number)
            if isinstance(record, numbers.TwilioNumberRecord) and record.phone_number_sid == number.sid
        ),
        None,
    )
