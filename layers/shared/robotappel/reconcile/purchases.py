"""Purchases a failure left behind, and numbers at Twilio that no record knows.

Policy for a purchase whose answer was lost: if Twilio has the number (found by its tag), it is recorded and
charged as the purchase would have been (the client asked for it, and a number given back may be gone for good);
if not, the intent is closed and its hold refunded. Only intents older than HOLD_EXPIRY are looked at: a younger
one may belong to a purchase still running.

A number at Twilio with neither record nor intent is released when it carries our tag and is older than
HOLD_EXPIRY (else a purchase may be between Twilio's answer and its record); one without our tag is not ours to
release: it is counted (metric and alarm) and listed in the log by its SID for an operator.

Twilio's list is read a page at a time across runs (a pass), and a record is judged gone only against a whole pass
(the SIDs of its pages kept, dal.cursors), then fetched by SID at Twilio and read again consistently.
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from robotappel.dal import cursors, ledger, numbers
from robotappel.dal.dynamodb import ConditionFailed, Item, transact
from robotappel.dal.numbers import NumberRecord
from robotappel.dal.subaccounts import Subaccount
from robotappel.ids import iso
from robotappel.observability import logger
from robotappel.reconcile import destroy, drift, holds
from robotappel.reconcile.destroy import Brake
from robotappel.reconcile.isolation import Isolation
from robotappel.reconcile.walk import Pass, fetched_in_its_org, walk
from robotappel.tenants.subaccounts import recorded_account_of
from robotappel.twilio import gateway
from robotappel.twilio.gateway import IncomingNumber
from robotappel.twilio.tags import record_id_of

PURCHASE_FINDINGS = ("purchase_recorded_late", "purchase_never_made")
LISTED_NOTHING = "twilio_listed_nothing"
NUMBER_FINDINGS = ("orphan_number_released", "unknown_number_kept")
GONE_FINDINGS = ("gone_number_marked_released", LISTED_NOTHING)
# The steps' keys in the run's positions (dal.cursors).
PURCHASES, NUMBERS, GONE = "purchases", "numbers", "gone"


def reconcile_purchases(
    out_of_time: Callable[[], bool], isolation: Isolation, positions: dict[str, str]
) -> dict[str, int]:
    """Each intent on its own (`isolation`): a malformed or failing one is skipped, and parked if it keeps failing.
    Resumes after the intent the run before stopped at (`positions[PURCHASES]`)."""
    findings = dict.fromkeys(PURCHASE_FINDINGS, 0)
    cutoff = iso(datetime.now(UTC) - holds.HOLD_EXPIRY)
    after = json.loads(positions.pop(PURCHASES)) if PURCHASES in positions else None
    for item in numbers.open_purchase_intent_items(created_before=cutoff, after=after):
        if out_of_time():
            if after:
                positions[PURCHASES] = json.dumps(after)
            return findings
        kind = isolation.run(f"{item.get('orgId')}/{item.get('sk')}", partial(_settle_intent, item))
        if kind:
            findings[kind] += 1
        after = numbers.open_work_position(item)
    return findings


def _settle_intent(item: Item) -> str | None:
    intent = numbers.purchase_intent(item)
    account = recorded_account_of(intent.org_id)
    if account is None:
        logger.warning("a purchase intent of an org without a subaccount: left open", extra={"numberId": intent.id})
        return None
    found = gateway.find_numbers(account, intent.twilio_friendly_name)
    if found:
        _record_late(intent, found[0])
        return "purchase_recorded_late"
    _close_never_made(intent)
    return "purchase_never_made"


def reconcile_numbers(
    out_of_time: Callable[[], bool], brake: Brake, isolation: Isolation, positions: dict[str, str]
) -> dict[str, int]:
    """Twilio's numbers against the records: a number no record of its subaccount's org knows. A pass over every
    subaccount's list spans runs (its state in `positions[NUMBERS]`: where to read next, reconcile.walk); the SIDs of
    each page are kept (dal.cursors), and a finished pass is handed to `reconcile_gone_numbers` (`positions[GONE]`).
    What it destroys, it destroys through `destroy`, on proof and within the run's `brake`; each number on its own
    (`isolation`)."""
    findings = dict.fromkeys((*NUMBER_FINDINGS, *drift.FINDINGS), 0)
    listing = Pass.of(positions.pop(NUMBERS, None), NUMBERS)
    in_flight = {
        item.get("id") for item in numbers.open_purchase_intent_items()
    }  # read as stored: one malformed fails alone
    settled_before = datetime.now(UTC) - holds.HOLD_EXPIRY
    recorded: dict[str, numbers.LiveSid] | None = None
    for walked in walk(listing.at, gateway.number_pages):
        if out_of_time():
            positions[NUMBERS] = listing.kept()
            return findings
        page, org_id = walked.page, walked.subaccount.org_id
        recorded = _recorded_by_sid() if recorded is None else recorded
        owners = _owners(page.items, recorded, org_id)
        for number in page.items:
            if out_of_time():  # this page again next run
                positions[NUMBERS] = listing.kept()
                return findings
            if record := _owning_record(number, owners, org_id):
                set_right = partial(
                    drift.set_right, walked.subaccount.account_sid, number, record, dry_run=brake.dry_run
                )
                findings[drift.DRIFT_SET_RIGHT] += bool(isolation.run(number.sid, set_right))
                continue
            record_id = record_id_of(number.friendly_name)
            if record_id is None:
                logger.warning("a Twilio number no record knows, not ours to release", extra={"sid": number.sid})
                findings["unknown_number_kept"] += 1
            elif record_id not in in_flight and number.date_created and number.date_created < settled_before:
                released = isolation.run(number.sid, partial(_release_if_orphan, walked.subaccount, number, brake))
                findings["orphan_number_released"] += bool(released)
        listing = listing.after(walked, [number.sid for number in page.items])
    positions[GONE] = listing.judged(positions.get(GONE))
    return findings


def reconcile_gone_numbers(
    out_of_time: Callable[[], bool], brake: Brake, isolation: Isolation, positions: dict[str, str]
) -> dict[str, int]:
    """The records whose number the last whole pass over Twilio's list (`positions[GONE]`) did not see, each
    fetched by SID at Twilio and read again consistently before it is marked released. Only records older than
    the pass are judged (a younger one may have been bought after its page was read); the live records are read
    by SID (GSI byTwilioSid), from where the run before stopped."""
    findings = {"gone_number_marked_released": 0, LISTED_NOTHING: 0}
    if GONE not in positions:
        return findings  # no whole pass to judge by yet
    judged = json.loads(positions.pop(GONE))
    seen = cursors.seen_in(judged["pass"])
    settled_before = iso(datetime.now(UTC) - holds.HOLD_EXPIRY)
    after = judged.get("after", "")
    for live in numbers.live_sids("number", after):
        if out_of_time():
            positions[GONE] = json.dumps({**judged, "after": after})
            return findings
        if not seen and not findings[LISTED_NOTHING]:
            # Every number gone at once is a wrong account or a failed listing, not a fact: nothing is released.
            brake.stop(LISTED_NOTHING)
            findings[LISTED_NOTHING] = 1
        if live.sid not in seen and live.created_at < min(judged["started"], settled_before):
            marked = isolation.run(
                f"{live.org_id}/{numbers.number_sk(live.number_id)}", partial(_mark_if_gone, live, brake)
            )
            findings["gone_number_marked_released"] += bool(marked)
        after = live.sid
    return findings


def _recorded_by_sid() -> dict[str, numbers.LiveSid]:
    """The live records by SID, read once a run (GSI byTwilioSid: keys only, a few MB at 100,000 numbers)."""
    return {live.sid: live for live in numbers.live_sids("number")}


def _owners(
    listed: list[IncomingNumber], recorded: dict[str, numbers.LiveSid], org_id: str
) -> dict[str, numbers.TwilioNumberRecord]:
    """The records of org `org_id` of the listed numbers the index knows, read consistently (a BatchGetItem per
    100)."""
    keys = [
        recorded[number.sid] for number in listed if number.sid in recorded and recorded[number.sid].org_id == org_id
    ]
    return {
        record.phone_number_sid: record
        for record in numbers.get_numbers(keys)
        if isinstance(record, numbers.TwilioNumberRecord)
    }


def _release_if_orphan(subaccount: Subaccount, number: IncomingNumber, brake: Brake) -> bool:
    # Fetched first: a record written after it is among the owners read next.
    fetched = gateway.fetch_number(subaccount.account_sid, number.sid)
    owners = _owners_read_again(number.phone_number, subaccount.org_id)
    return destroy.release_orphan_number(subaccount.account_sid, fetched=fetched, owners=owners, brake=brake)


def _owners_read_again(phone_number: str, org_id: str) -> list[NumberRecord]:
    """The org's live records of a number the index knows, each read again consistently: the index may still show
    one released meanwhile."""
    indexed = [owner for owner in numbers.find_by_phone_number(phone_number) if owner.org_id == org_id]
    owners = [numbers.get_number(owner.org_id, owner.id, consistent=True) for owner in indexed]
    return [owner for owner in owners if owner]


def _mark_if_gone(live: numbers.LiveSid, brake: Brake) -> bool:
    fetched = fetched_in_its_org(live.org_id, live.sid, gateway.fetch_number)
    if fetched is None:
        return False
    record = numbers.get_number(live.org_id, live.number_id, consistent=True)
    return destroy.mark_number_released(record=record, sid=live.sid, fetched=fetched.resource, brake=brake)


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


def _owning_record(
    number: IncomingNumber, owners: dict[str, numbers.TwilioNumberRecord], org_id: str
) -> numbers.TwilioNumberRecord | None:
    """The live record of org `org_id` of a number listed in its subaccount: read with its page (`owners`), else
    (GSI byTwilioSid has not caught up with a recent purchase) found by its phone number."""
    return owners.get(number.sid) or next(
        (
            record
            for record in _owners_read_again(number.phone_number, org_id)
            if isinstance(record, numbers.TwilioNumberRecord) and record.phone_number_sid == number.sid
        ),
        None,
    )
