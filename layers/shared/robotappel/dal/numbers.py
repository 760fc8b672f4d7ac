"""Client phones and Twilio numbers (NumbersTable: orgId + sk), handed to the use cases as typed records.

sk = "number#<id>"          a client phone (id "cp_…") or a live Twilio number (id "tn_…"); ids sort by time.
                           A client phone with work left open carries openWork = "verification" (GSI byOpenWork,
                           oldest first): while it is pending, and while it holds the open hold of its add (`hold`)
sk = "released#<id>"        a released Twilio number (tombstone): out of the key range the listings read
sk = "clientphone#<e164>"   guard: one client phone per number and org
sk = "call#<CallSid>"       a call already counted: kept, so that a replayed callback never counts it again
sk = "verificationcalls#<e164>"  when the org last had Twilio call this phone to verify it (expires after a while)
sk = "regulatory#<country>#<numberType>"   the org's default bundle (and address) for purchases of that kind
sk = "intent#<id>"          a purchase under way (write-ahead): written with its hold before Twilio is asked,
                            replaced by number#<id> when it is recorded; one left behind is the reconciler's
GSI byPhoneNumber (phoneNumber) finds the numbers a webhook is about; GSI byClientPhoneNumber
(orgId, clientPhoneNumber) finds the Twilio number linked to a client phone; sparse GSI byOpenWork
(openWork, createdAt) lists the work a failure may leave to the reconciler, oldest first; sparse GSI byTwilioSid
(twilioKind, twilioSid; keys and createdAt only) lists by SID the live records of something Twilio holds, and
nothing else: a live Twilio number (twilioKind "number", its PN SID) and a client phone with a caller ID
("callerId", the caller ID's SID) alone carry twilioKind, so the reconciler's passes over them never read a
`call#` marker or a released number.

Writes are returned as named transaction parts (`Write`); the names below are how a use case asks which
condition failed.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer
from pydantic.alias_generators import to_camel

from robotappel.config import get_settings
from robotappel.dal.dynamodb import (
    Item,
    Rows,
    Write,
    client,
    from_ddb,
    query_items,
    query_rows,
    to_ddb,
    unavailable_on_throttling,
    values,
)
from robotappel.dal.ledger import LedgerEntry
from robotappel.errors import InvalidInput
from robotappel.models.phone import NumberType
from robotappel.paging import MAX_LIMIT

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import DeleteTypeDef, PutTypeDef

CLIENT_PHONE = "cp"
TWILIO_NUMBER = "tn"
# openWork (GSI byOpenWork) of a client phone whose verification (or the hold that pays for it) is not settled
# yet, and of a purchase under way.
OPEN_VERIFICATION, OPEN_PURCHASE = "verification", "purchase"
OPEN_WORK_INDEX = "byOpenWork"
TWILIO_SID_INDEX = "byTwilioSid"
TwilioKind = Literal["number", "callerId"]
_BATCH_GET = 100  # DynamoDB's most keys a BatchGetItem
# Sorts after every ISO time: "created before" it means all of them.
ANY_TIME = "~"

# Names of transaction parts whose condition a use case may ask about.
NUMBER = "number"
TOMBSTONE = "tombstone"
CLIENT_PHONE_GUARD = "client_phone_guard"
LINKED_CLIENT_PHONE = "linked_client_phone"
CALL_MARKER = "call_marker"
VERIFICATION_CALLS = "verification_calls"
PURCHASE_INTENT = "purchase_intent"

ClientPhoneStatus = Literal["pending", "verified", "failed"]
# A write's condition: its expression, with the attribute names and values it uses.
_Condition = tuple[str, dict[str, str], dict[str, Any]]


# An open hold kept on a record written ahead of Twilio: its ledger entry, stored as the entry's attributes.
StoredHold = Annotated[
    LedgerEntry,
    BeforeValidator(lambda value: LedgerEntry.from_attributes(value) if isinstance(value, dict) else value),
    PlainSerializer(lambda hold: hold.attributes()),
]


class _NumberRecord(BaseModel):
    """Stored with camelCase attribute names (the table's), read and written by their snake_case fields."""

    model_config = ConfigDict(frozen=True, extra="ignore", alias_generator=to_camel, validate_by_name=True)

    id: str
    org_id: str
    phone_number: str
    friendly_name: str
    created_at: str
    total_calls: int = 0

    def item(self) -> Item:
        return {**self.model_dump(by_alias=True, exclude_none=True), "sk": number_sk(self.id)}


class ClientPhoneRecord(_NumberRecord):
    """Written before Twilio is asked to call the phone (write-ahead): `hold` is then the add's open hold (its ledger
    entry), until the add records Twilio's answer and settles it, or the reconciler settles or refunds it."""

    kind: Literal["client"] = "client"
    status: ClientPhoneStatus
    validation_call_sid: str | None = None
    verified_at: str | None = None
    caller_id_sid: str | None = None
    open_work: Literal["verification"] | None = None
    hold: StoredHold | None = None

    def item(self) -> Item:
        # A phone with a caller ID at Twilio is in GSI byTwilioSid until it fails or is deleted.
        live = self.status in ("pending", "verified") and self.caller_id_sid
        by_sid = {"twilioKind": "callerId", "twilioSid": self.caller_id_sid} if live else {}
        return {**super().item(), **by_sid}


class TwilioNumberRecord(_NumberRecord):
    kind: Literal["twilio"] = "twilio"
    status: Literal["active", "released"] = "active"
    phone_number_sid: str
    country_code: str
    number_type: NumberType
    voice_url: str
    client_phone_number: str | None = None
    released_at: str | None = None
    # How many times the record was changed since it was bought (None: never): an update is conditioned on it.
    version: int | None = None

    def item(self) -> Item:
        # Released (a tombstone under released#): out of GSI byTwilioSid.
        live = {"twilioKind": "number", "twilioSid": self.phone_number_sid} if self.status == "active" else {}
        return {**super().item(), **live}


NumberRecord = ClientPhoneRecord | TwilioNumberRecord


class PurchaseIntentRecord(BaseModel):
    """A purchase between its hold and its record: what the number will be recorded as, the hold that pays for
    it, and the FriendlyName (tagged with `id`) that finds it at Twilio if the purchase's answer is lost."""

    model_config = ConfigDict(frozen=True, extra="ignore", alias_generator=to_camel, validate_by_name=True)

    id: str  # the id of the number it becomes
    org_id: str
    created_at: str
    hold: StoredHold
    twilio_friendly_name: str
    friendly_name: str | None = None
    country_code: str
    number_type: NumberType
    voice_url: str
    client_phone_number: str | None = None
    open_work: Literal["purchase"] = "purchase"

    def item(self) -> Item:
        return {**self.model_dump(by_alias=True, exclude_none=True), "sk": _intent_sk(self.id)}

    def recorded_as(self, phone_number: str, phone_number_sid: str, voice_url: str) -> "TwilioNumberRecord":
        """The record of the number this purchase bought."""
        return TwilioNumberRecord(
            id=self.id,
            org_id=self.org_id,
            phone_number=phone_number,
            phone_number_sid=phone_number_sid,
            friendly_name=self.friendly_name or phone_number,
            country_code=self.country_code,
            number_type=self.number_type,
            voice_url=voice_url or self.voice_url,
            client_phone_number=self.client_phone_number,
            created_at=self.created_at,
        )


class RegulatoryDefaultRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", alias_generator=to_camel, validate_by_name=True)

    org_id: str
    country_code: str
    number_type: NumberType
    bundle_sid: str
    address_sid: str | None = None
    updated_at: str

    def item(self) -> Item:
        return {
            **self.model_dump(by_alias=True, exclude_none=True),
            "sk": _regulatory_sk(self.country_code, self.number_type),
        }


def _record(item: Item) -> NumberRecord:
    if item["kind"] == "client":
        return ClientPhoneRecord.model_validate(item)
    return TwilioNumberRecord.model_validate(item)


class VerificationCalls(BaseModel):
    """When an org had Twilio call one phone to verify it (ISO times, oldest first); `version` counts the writes."""

    model_config = ConfigDict(frozen=True, extra="ignore", alias_generator=to_camel, validate_by_name=True)

    org_id: str
    phone_number: str
    times: tuple[str, ...] = ()
    version: int = 0


def _table() -> str:
    return get_settings().numbers_table


def _key(org_id: str, sk: str) -> dict[str, Any]:
    return to_ddb({"orgId": org_id, "sk": sk})


def number_sk(number_id: str) -> str:
    return f"number#{number_id}"


def released_sk(number_id: str) -> str:
    return f"released#{number_id}"


def _regulatory_sk(country_code: str, number_type: str) -> str:
    return f"regulatory#{country_code}#{number_type}"


def _intent_sk(number_id: str) -> str:
    return f"intent#{number_id}"


def _guard_sk(e164: str) -> str:
    return f"clientphone#{e164}"


def _verification_calls_sk(e164: str) -> str:
    return f"verificationcalls#{e164}"


def _query(**kwargs: Any) -> list[NumberRecord]:
    return [_record(item) for item in query_items(TableName=_table(), **kwargs)]


def _live_numbers(org_id: str, prefix: str, limit: int, after: str | None) -> Rows[NumberRecord]:
    """A page of the org's live numbers under `prefix`, newest first, after the sort key `after`."""
    if after is not None and not after.startswith(prefix):
        raise InvalidInput("cursor", "This cursor belongs to another listing.")
    return query_rows(
        _record,
        limit,
        {"orgId": org_id, "sk": after} if after else None,
        TableName=_table(),
        KeyConditionExpression="orgId = :org AND begins_with(sk, :prefix)",
        # Released numbers are kept under released#, out of this range; the filter only hides the tombstones
        # written in place before that (#16), so it removes nothing from data written since.
        FilterExpression="#status <> :released",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues=values(org=org_id, prefix=prefix, released="released"),
        ScanIndexForward=False,
    )


# ------------------------------------------------------------------ reads
def get_number(org_id: str, number_id: str, *, consistent: bool = False) -> NumberRecord | None:
    with unavailable_on_throttling():
        response = client().get_item(
            TableName=_table(), Key=_key(org_id, number_sk(number_id)), ConsistentRead=consistent
        )
    return _record(from_ddb(response["Item"])) if "Item" in response else None


def list_numbers(org_id: str, limit: int = MAX_LIMIT, after: str | None = None) -> Rows[NumberRecord]:
    """The org's client phones and active Twilio numbers, newest first (all Twilio numbers, then client phones)."""
    return _live_numbers(org_id, number_sk(""), limit, after)


def list_client_phones(org_id: str, limit: int = MAX_LIMIT, after: str | None = None) -> Rows[ClientPhoneRecord]:
    rows = _live_numbers(org_id, number_sk(f"{CLIENT_PHONE}_"), limit, after)
    return Rows([record for record in rows.records if isinstance(record, ClientPhoneRecord)], rows.last_sk)


def list_twilio_numbers(org_id: str, limit: int = MAX_LIMIT, after: str | None = None) -> Rows[TwilioNumberRecord]:
    rows = _live_numbers(org_id, number_sk(f"{TWILIO_NUMBER}_"), limit, after)
    return Rows([record for record in rows.records if isinstance(record, TwilioNumberRecord)], rows.last_sk)


def client_phone_exists(org_id: str, e164: str) -> bool:
    with unavailable_on_throttling():
        response = client().get_item(TableName=_table(), Key=_key(org_id, _guard_sk(e164)), ProjectionExpression="sk")
    return "Item" in response


def find_client_phone(org_id: str, e164: str) -> ClientPhoneRecord | None:
    """The org's client phone of this number, found through its guard."""
    with unavailable_on_throttling():
        guard = client().get_item(TableName=_table(), Key=_key(org_id, _guard_sk(e164)))
    if "Item" not in guard:
        return None
    record = get_number(org_id, from_ddb(guard["Item"])["numberId"])
    return record if isinstance(record, ClientPhoneRecord) else None


def verification_calls(org_id: str, e164: str) -> VerificationCalls:
    """The org's verification calls to this phone, read consistently (the next add decides on them)."""
    with unavailable_on_throttling():
        response = client().get_item(
            TableName=_table(), Key=_key(org_id, _verification_calls_sk(e164)), ConsistentRead=True
        )
    if "Item" not in response:
        return VerificationCalls(org_id=org_id, phone_number=e164)
    return VerificationCalls.model_validate({**from_ddb(response["Item"]), "phoneNumber": e164})


def save_verification_calls(before: VerificationCalls, times: tuple[str, ...], expires_at: int) -> Write:
    """`times` in place of `before.times`; VERIFICATION_CALLS fails if another add wrote them since they were read.
    The item may expire at `expires_at`, when none of them counts any more."""
    after = before.model_copy(update={"times": times, "version": before.version + 1})
    # No phoneNumber attribute: the item stays out of GSI byPhoneNumber, which finds the records of a number.
    item = {
        **after.model_dump(by_alias=True, exclude={"phone_number"}),
        "sk": _verification_calls_sk(before.phone_number),
    }
    item |= {"times": list(times), "expiresAt": expires_at}
    put: PutTypeDef = {"TableName": _table(), "Item": to_ddb(item), "ConditionExpression": "attribute_not_exists(sk)"}
    if before.version:
        put |= {
            "ConditionExpression": "attribute_not_exists(sk) OR #version = :version",  # or expired meanwhile
            "ExpressionAttributeNames": {"#version": "version"},
            "ExpressionAttributeValues": values(version=before.version),
        }
    return Write(VERIFICATION_CALLS, {"Put": put})


def find_linked_twilio_number(org_id: str, client_e164: str) -> TwilioNumberRecord | None:
    records = _query(
        IndexName="byClientPhoneNumber",
        KeyConditionExpression="orgId = :org AND clientPhoneNumber = :phone",
        FilterExpression="#status = :active",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues=values(org=org_id, phone=client_e164, active="active"),
    )
    return next((record for record in records if record.kind == "twilio"), None)


def find_linked_twilio_numbers(org_id: str, client_phones: list[str]) -> dict[str, TwilioNumberRecord]:
    """client phone -> the active Twilio number linked to it, for these client phones (one query of their range)."""
    if not client_phones:
        return {}
    records = _query(
        IndexName="byClientPhoneNumber",
        KeyConditionExpression="orgId = :org AND clientPhoneNumber BETWEEN :low AND :high",
        FilterExpression="#status = :active",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues=values(org=org_id, low=min(client_phones), high=max(client_phones), active="active"),
    )
    wanted = set(client_phones)
    return {
        record.client_phone_number: record
        for record in records
        if isinstance(record, TwilioNumberRecord) and record.client_phone_number in wanted
    }


def find_by_phone_number(e164: str) -> list[NumberRecord]:
    """Every live record of a number, across orgs (a client phone may be registered by several orgs)."""
    return _query(
        IndexName="byPhoneNumber",
        KeyConditionExpression="phoneNumber = :phone",
        FilterExpression="#status <> :released",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues=values(phone=e164, released="released"),
    )


def open_verification_items() -> Iterator[Item]:
    """The items of the client phones with work left open (GSI byOpenWork), oldest first, read a page at a time,
    as stored: each is read into a ClientPhoneRecord (`client_phone`) by the reconciler, so that a malformed one
    fails alone."""
    return _open_work(OPEN_VERIFICATION, ANY_TIME)


def client_phone(item: Item) -> ClientPhoneRecord:
    return ClientPhoneRecord.model_validate(item)


def get_regulatory_default(org_id: str, country_code: str, number_type: str) -> RegulatoryDefaultRecord | None:
    with unavailable_on_throttling():
        response = client().get_item(TableName=_table(), Key=_key(org_id, _regulatory_sk(country_code, number_type)))
    return RegulatoryDefaultRecord.model_validate(from_ddb(response["Item"])) if "Item" in response else None


def list_regulatory_defaults(org_id: str) -> list[RegulatoryDefaultRecord]:
    items = query_items(
        TableName=_table(),
        KeyConditionExpression="orgId = :org AND begins_with(sk, :prefix)",
        ExpressionAttributeValues=values(org=org_id, prefix="regulatory#"),
    )
    return [RegulatoryDefaultRecord.model_validate(item) for item in items]


def put_regulatory_default(record: RegulatoryDefaultRecord) -> None:
    """One default per org, country and number type: a new one replaces the old."""
    with unavailable_on_throttling():
        client().put_item(TableName=_table(), Item=to_ddb(record.item()))


# ------------------------------------------------------------------ writes (named transaction parts)
def put_client_phone(record: ClientPhoneRecord) -> list[Write]:
    """The client phone and its guard; CLIENT_PHONE_GUARD fails if the org has this phone already."""
    guard = {"orgId": record.org_id, "sk": _guard_sk(record.phone_number), "numberId": record.id}
    return [
        Write(
            CLIENT_PHONE_GUARD,
            {
                "Put": {
                    "TableName": _table(),
                    "Item": to_ddb(guard),
                    "ConditionExpression": "attribute_not_exists(sk)",
                }
            },
        ),
        Write(NUMBER, {"Put": {"TableName": _table(), "Item": to_ddb(record.item())}}),
    ]


def replace_client_phone(before: ClientPhoneRecord, after: ClientPhoneRecord) -> Write:
    """`after` in place of `before` (a verification restarted, or the restart taken back); NUMBER fails if the
    stored record is no longer `before`: restarted or settled meanwhile (status, createdAt or hold changed)."""
    condition, names, condition_values = _as_read(before)
    return Write(
        NUMBER,
        {
            "Put": {
                "TableName": _table(),
                "Item": to_ddb(after.item()),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values(**condition_values),
            }
        },
    )


def _as_read(before: ClientPhoneRecord) -> _Condition:
    """The condition that the stored client phone is still `before`: same status, same verification (createdAt,
    a restart's) and same hold. A write conditioned on status alone passes on a phone restarted meanwhile."""
    same_hold = "#hold.entryId = :entry" if before.hold else "attribute_not_exists(#hold)"
    return (
        f"#status = :status AND createdAt = :created AND {same_hold}",
        {"#status": "status", "#hold": "hold"},
        {
            "status": before.status,
            "created": before.created_at,
            **({"entry": before.hold.entry_id} if before.hold else {}),
        },
    )


def record_validation_request(record: ClientPhoneRecord, call_sid: str) -> Write:
    """Twilio's answer to the validation request of a write-ahead record: its CallSid, and the add's hold gone from
    the record (the charge that settles it joins the transaction). The status is left as it is: the callback may
    have come first. NUMBER fails if the record is gone, or no longer carries that hold (settled meanwhile)."""
    held = {"entry": record.hold.entry_id} if record.hold else {}
    return Write(
        NUMBER,
        {
            "Update": {
                "TableName": _table(),
                "Key": _key(record.org_id, number_sk(record.id)),
                "UpdateExpression": "SET validationCallSid = :sid REMOVE #hold",
                "ConditionExpression": "#hold.entryId = :entry" if held else "attribute_exists(sk)",
                "ExpressionAttributeNames": {"#hold": "hold"},
                "ExpressionAttributeValues": values(sid=call_sid, **held),
            }
        },
    )


def delete_client_phone(record: ClientPhoneRecord, link_version: int) -> list[Write]:
    """The client phone and its guard; NUMBER fails if the phone is gone already, CLIENT_PHONE_GUARD if a number
    was linked to it since its `link_version` was read (the caller then reads the links again)."""
    guard: DeleteTypeDef = {
        "TableName": _table(),
        "Key": _key(record.org_id, _guard_sk(record.phone_number)),
        "ConditionExpression": "attribute_not_exists(linkVersion)",
    }
    if link_version:
        guard |= {
            "ConditionExpression": "linkVersion = :version",
            "ExpressionAttributeValues": values(version=link_version),
        }
    return [
        Write(
            NUMBER,
            {
                "Delete": {
                    "TableName": _table(),
                    "Key": _key(record.org_id, number_sk(record.id)),
                    "ConditionExpression": "attribute_exists(sk)",
                }
            },
        ),
        Write(CLIENT_PHONE_GUARD, {"Delete": guard}),
    ]


def link_to_client_phone(org_id: str, e164: str) -> Write:
    """LINKED_CLIENT_PHONE joins a transaction that links a number to a client phone: it fails if the phone was
    deleted meanwhile, and it counts the link on the phone's guard (linkVersion), so that a delete that read the
    phone's links before this one fails instead of leaving this link behind."""
    return Write(
        LINKED_CLIENT_PHONE,
        {
            "Update": {
                "TableName": _table(),
                "Key": _key(org_id, _guard_sk(e164)),
                "UpdateExpression": "ADD linkVersion :one",
                "ConditionExpression": "attribute_exists(sk)",
                "ExpressionAttributeValues": values(one=1),
            }
        },
    )


def link_version(org_id: str, e164: str) -> int:
    """How many times a number was linked to this client phone (read consistently, before its links are)."""
    with unavailable_on_throttling():
        response = client().get_item(
            TableName=_table(),
            Key=_key(org_id, _guard_sk(e164)),
            ConsistentRead=True,
            ProjectionExpression="linkVersion",
        )
    return int(from_ddb(response.get("Item", {})).get("linkVersion", 0))


def twilio_numbers_linked_to(org_id: str, e164: str) -> list[TwilioNumberRecord]:
    """The org's live Twilio numbers linked to this client phone, read consistently (the base table, not the
    eventually consistent byClientPhoneNumber index): what a delete must unlink."""
    records = _query(
        KeyConditionExpression="orgId = :org AND begins_with(sk, :prefix)",
        FilterExpression="clientPhoneNumber = :phone",
        ExpressionAttributeValues=values(org=org_id, prefix=number_sk(f"{TWILIO_NUMBER}_"), phone=e164),
        ConsistentRead=True,
    )
    return [record for record in records if isinstance(record, TwilioNumberRecord)]


def put_purchase_intent(intent: PurchaseIntentRecord) -> None:
    with unavailable_on_throttling():
        client().put_item(TableName=_table(), Item=to_ddb(intent.item()))


def close_purchase_intent(intent: PurchaseIntentRecord) -> Write:
    """The intent settled (recorded, or known never to have reached Twilio); PURCHASE_INTENT fails if another
    process settled it already, even if a retry of its Idempotency-Key wrote it again since (with another hold)."""
    return Write(
        PURCHASE_INTENT,
        {
            "Delete": {
                "TableName": _table(),
                "Key": _key(intent.org_id, _intent_sk(intent.id)),
                "ConditionExpression": "#hold.entryId = :entry",
                "ExpressionAttributeNames": {"#hold": "hold"},
                "ExpressionAttributeValues": values(entry=intent.hold.entry_id),
            }
        },
    )


def open_purchase_intent_items(created_before: str = ANY_TIME, after: Item | None = None) -> Iterator[Item]:
    """The items of the purchases under way since before `created_before`, oldest first (after the one whose
    `open_work_position` is `after`), as stored: each is read into a PurchaseIntentRecord (`purchase_intent`) by
    the reconciler, so that a malformed one fails alone."""
    return _open_work(OPEN_PURCHASE, created_before, after)


def open_work_position(item: Item) -> Item:
    """Where a listing of open work that stopped after `item` resumes."""
    return {key: item[key] for key in ("openWork", "createdAt", "orgId", "sk")}


def purchase_intent(item: Item) -> PurchaseIntentRecord:
    return PurchaseIntentRecord.model_validate(item)


def find_purchase(org_id: str, number_id: str) -> TwilioNumberRecord | PurchaseIntentRecord | None:
    """Where the purchase of `number_id` stands, read consistently: its number (live, or released since), its
    intent (under way, or left to the reconciler), or None (never written, or closed without a number)."""
    for sk in (number_sk(number_id), released_sk(number_id), _intent_sk(number_id)):
        with unavailable_on_throttling():
            response = client().get_item(TableName=_table(), Key=_key(org_id, sk), ConsistentRead=True)
        if "Item" in response:
            item = from_ddb(response["Item"])
            if sk.startswith("intent#"):
                return PurchaseIntentRecord.model_validate(item)
            return TwilioNumberRecord.model_validate(item)
    return None


def open_purchase_intents(created_before: str = ANY_TIME) -> Iterator[PurchaseIntentRecord]:
    """The purchases under way since before `created_before`, oldest first, read a page at a time."""
    for item in _open_work(OPEN_PURCHASE, created_before):
        yield PurchaseIntentRecord.model_validate(item)


def holds_of_open_work() -> set[str]:
    """The entry ids of the holds that open work (purchases, pending verifications) will settle or refund."""
    return {
        str(item["hold"]["entryId"])
        for kind in (OPEN_PURCHASE, OPEN_VERIFICATION)
        for item in _open_work(kind, ANY_TIME)
        if item.get("hold")
    }


def _open_work(kind: str, created_before: str, after: Item | None = None) -> Iterator[Item]:
    """The items with open work of `kind` created before `created_before` (GSI byOpenWork), oldest first, after
    the item at the position `after`."""
    return query_items(
        TableName=_table(),
        IndexName=OPEN_WORK_INDEX,
        KeyConditionExpression="openWork = :kind AND createdAt < :before",
        ExpressionAttributeValues=values(kind=kind, before=created_before),
        **({"ExclusiveStartKey": to_ddb(after)} if after else {}),
    )


@dataclass(frozen=True)
class LiveSid:
    """A live record of something Twilio holds, as GSI byTwilioSid has it: its key, the SID of what Twilio holds
    and when the record was made."""

    org_id: str
    number_id: str
    sid: str
    created_at: str


def live_sids(kind: TwilioKind, after_sid: str = "") -> Iterator[LiveSid]:
    """Every org's live records of `kind` by SID, after `after_sid`, read a page (DynamoDB's 1 MB) at a time (GSI
    byTwilioSid: eventually consistent, which is why nothing is destroyed on it alone)."""
    after = {"after": after_sid} if after_sid else {}
    items = query_items(
        TableName=_table(),
        IndexName=TWILIO_SID_INDEX,
        KeyConditionExpression="twilioKind = :kind" + (" AND twilioSid > :after" if after else ""),
        ExpressionAttributeValues=values(kind=kind, **after),
    )
    return (
        LiveSid(
            org_id=str(item["orgId"]),
            number_id=str(item["sk"]).removeprefix(number_sk("")),
            sid=str(item["twilioSid"]),
            created_at=str(item["createdAt"]),
        )
        for item in items
    )


def get_numbers(keys: Iterable[LiveSid]) -> list[NumberRecord]:
    """The records of `keys`, read consistently, a BatchGetItem of 100 at a time (the ones gone meanwhile left out)."""
    wanted = [to_ddb({"orgId": key.org_id, "sk": number_sk(key.number_id)}) for key in keys]
    found: list[NumberRecord] = []
    for start in range(0, len(wanted), _BATCH_GET):
        request: dict[str, Any] = {_table(): {"Keys": wanted[start : start + _BATCH_GET], "ConsistentRead": True}}
        while request:
            with unavailable_on_throttling():
                response = client().batch_get_item(RequestItems=request)
            found += [_record(from_ddb(item)) for item in response["Responses"].get(_table(), [])]
            request = dict(response.get("UnprocessedKeys") or {})
    return found


def put_twilio_number(record: TwilioNumberRecord) -> Write:
    return Write(NUMBER, {"Put": {"TableName": _table(), "Item": to_ddb(record.item())}})


def release_twilio_number(record: TwilioNumberRecord, released_at: str) -> list[Write]:
    """The number leaves the live key range: deleted from it (NUMBER fails if it is gone or no longer active) and
    kept, unlinked, as a tombstone under released#<id> (TOMBSTONE), which no listing of live numbers reads."""
    tombstone = record.model_copy(
        update={"status": "released", "released_at": released_at, "client_phone_number": None}
    )
    return [
        Write(
            NUMBER,
            {
                "Delete": {
                    "TableName": _table(),
                    "Key": _key(record.org_id, number_sk(record.id)),
                    "ConditionExpression": "attribute_exists(sk) AND #status = :active",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": values(active="active"),
                }
            },
        ),
        Write(
            TOMBSTONE,
            {"Put": {"TableName": _table(), "Item": to_ddb({**tombstone.item(), "sk": released_sk(record.id)})}},
        ),
    ]


def save_number(before: NumberRecord, after: NumberRecord, name: str = NUMBER, *, versioned: bool = False) -> Write:
    """Write what changed from `before` to `after` (attributes set or removed); the condition (`name`) fails if
    the stored record is gone or its status is no longer `before.status` (settled or released meanwhile), and, when
    `versioned`, if the Twilio number was changed by anyone since `before` was read (its version: every change of
    a Twilio number counts in it)."""
    return _save(before, after, name, _unchanged_since(before, versioned=versioned))


def count_change(record: TwilioNumberRecord) -> Write:
    """Count a change made at Twilio alone (the reconciler setting a number's drift right) as a change of its
    record: NUMBER fails if the record changed since `record` was read, and an update that read it before fails
    its own condition and applies itself again, at Twilio too (so the change at Twilio never undoes it)."""
    condition, names, expected = _unchanged_since(record, versioned=True)
    return Write(
        NUMBER,
        {
            "Update": {
                "TableName": _table(),
                "Key": _key(record.org_id, number_sk(record.id)),
                "UpdateExpression": "ADD #version :one",
                "ConditionExpression": f"attribute_exists(sk) AND {condition}",
                "ExpressionAttributeNames": {**names, "#version": "version"},
                "ExpressionAttributeValues": values(**expected, one=1),
            }
        },
    )


def _unchanged_since(before: NumberRecord, *, versioned: bool) -> _Condition:
    condition = "#status = :expected"
    names: dict[str, str] = {"#status": "status"}
    expected: dict[str, Any] = {"expected": before.status}
    if versioned and isinstance(before, TwilioNumberRecord):
        names["#version"] = "version"
        if before.version is None:
            condition += " AND attribute_not_exists(#version)"
        else:
            condition += " AND #version = :version"
            expected["version"] = before.version
    return condition, names, expected


def save_client_phone_as_read(before: ClientPhoneRecord, after: ClientPhoneRecord) -> Write:
    """Write what changed from `before` to `after`; NUMBER fails unless the stored phone is still `before` as it was
    read (status, createdAt, hold): what the reconciler writes, from a read that may be minutes old."""
    return _save(before, after, NUMBER, _as_read(before))


def _save(before: NumberRecord, after: NumberRecord, name: str, condition: _Condition) -> Write:
    expression_of_condition, condition_names, condition_values = condition
    old, new = before.item(), after.item()
    changed = {attribute: value for attribute, value in new.items() if old.get(attribute) != value}
    removed = [attribute for attribute in old if attribute not in new]
    key = _key(before.org_id, number_sk(before.id))
    if not changed and not removed:  # e.g. unlinking a number that has no link: only the condition remains
        return Write(
            name,
            {
                "ConditionCheck": {
                    "TableName": _table(),
                    "Key": key,
                    "ConditionExpression": f"attribute_exists(sk) AND {expression_of_condition}",
                    "ExpressionAttributeNames": condition_names,
                    "ExpressionAttributeValues": values(**condition_values),
                }
            },
        )
    names = {f"#a{i}": attribute for i, attribute in enumerate(changed)}
    names |= {f"#r{i}": attribute for i, attribute in enumerate(removed)}
    names |= condition_names
    expression = "SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(changed))) if changed else ""
    if removed:
        expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removed)))
    counted: dict[str, Any] = {}
    if isinstance(before, TwilioNumberRecord):  # a change a versioned update read before must make it fail
        names["#version"] = "version"
        expression += " ADD #version :one"
        counted["one"] = 1
    return Write(
        name,
        {
            "Update": {
                "TableName": _table(),
                "Key": key,
                "UpdateExpression": expression.strip(),
                "ConditionExpression": f"attribute_exists(sk) AND {expression_of_condition}",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values(
                    **condition_values, **counted, **{f"a{i}": value for i, value in enumerate(changed.values())}
                ),
            }
        },
    )


def count_call(record: NumberRecord, call_sid: str) -> list[Write]:
    """Add one call to a number, once per CallSid: CALL_MARKER fails on a repeat, however late (markers written
    before #27 carry an expiresAt; these never expire)."""
    marker = {"orgId": record.org_id, "sk": f"call#{call_sid}"}
    return [
        Write(
            CALL_MARKER,
            {
                "Put": {
                    "TableName": _table(),
                    "Item": to_ddb(marker),
                    "ConditionExpression": "attribute_not_exists(sk)",
                }
            },
        ),
        Write(
            NUMBER,
            {
                "Update": {
                    "TableName": _table(),
                    "Key": _key(record.org_id, number_sk(record.id)),
                    "UpdateExpression": "ADD totalCalls :one",
                    "ConditionExpression": "attribute_exists(sk)",
                    "ExpressionAttributeValues": values(one=1),
                }
            },
        ),
    ]
