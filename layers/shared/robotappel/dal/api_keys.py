"""API keys (ApiKeysTable: keyHash). Only the SHA-256 of a key is ever stored or looked up.

keyHash = sha256(key) hex    -> {keyId, orgId, role, createdAt, hint, issuedByKeyId?, revokedAt?, revokedByKeyId?}:
                                the key, read by the authorizer (byKeyId: the admin key that issued or revoked it)
keyHash = "keyId#<keyId>"    -> {keyOf: sha256(key) hex}: finds a key by its id, to revoke it
GSI byOrg (orgId, keyId) lists an org's keys, oldest first (ids sort by time); the keyId items have no orgId, so
they are not in it.
"""

import hashlib
from dataclasses import dataclass

from robotappel.config import get_settings
from robotappel.dal import ledger
from robotappel.dal.dynamodb import (
    ConditionFailed,
    Item,
    Write,
    client,
    from_ddb,
    to_ddb,
    transact,
    unavailable_on_throttling,
    update,
    values,
)

# Names of the writes whose condition a caller may ask about (and ledger.ACCOUNT: the org must exist).
KEY = "key"
KEY_ID = "key_id"
ADMIN = "admin"


@dataclass(frozen=True)
class ApiKeyRecord:
    key_id: str
    org_id: str
    role: str
    created_at: str
    hint: str
    revoked_at: str | None = None
    issued_by_key_id: str | None = None
    revoked_by_key_id: str | None = None

    def item(self, key_hash: str) -> Item:
        return {
            "keyHash": key_hash,
            "keyId": self.key_id,
            "orgId": self.org_id,
            "role": self.role,
            "createdAt": self.created_at,
            "hint": self.hint,
            "revokedAt": self.revoked_at,
            "issuedByKeyId": self.issued_by_key_id,
            "revokedByKeyId": self.revoked_by_key_id,
        }

    @classmethod
    def from_item(cls, item: Item) -> "ApiKeyRecord":
        # Keys written by hand before keys had ids ({keyHash, orgId, role}) still authenticate; they are not listed
        # (no keyId: not in byOrg) and are revoked by deleting their item.
        return cls(
            key_id=item.get("keyId", ""),
            org_id=item["orgId"],
            role=item["role"],
            created_at=item.get("createdAt", ""),
            hint=item.get("hint", ""),
            revoked_at=item.get("revokedAt"),
            issued_by_key_id=item.get("issuedByKeyId"),
            revoked_by_key_id=item.get("revokedByKeyId"),
        )


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def _table() -> str:
    return get_settings().api_keys_table


def _key_id_item(key_id: str) -> str:
    return f"keyId#{key_id}"


def _get(key_hash: str) -> Item | None:
    with unavailable_on_throttling():
        response = client().get_item(TableName=_table(), Key=to_ddb({"keyHash": key_hash}), ConsistentRead=True)
    return from_ddb(response["Item"]) if "Item" in response else None


def find(api_key: str) -> ApiKeyRecord | None:
    item = _get(hash_key(api_key))
    return ApiKeyRecord.from_item(item) if item else None


def find_by_id(key_id: str) -> ApiKeyRecord | None:
    """The key with this id, as it is now (consistent reads); None if there is none."""
    pointer = _get(_key_id_item(key_id))
    item = _get(pointer["keyOf"]) if pointer else None
    return ApiKeyRecord.from_item(item) if item else None


def put(api_key: str, record: ApiKeyRecord) -> None:
    """Store a new key (its hash) and its keyId, if its org exists and, for an admin key, is an operator org:
    ledger.ACCOUNT fails if it is not (with the account, if there is one), KEY if this key is stored already."""
    key_hash = hash_key(api_key)
    transact(
        [
            ledger.account_still_exists(record.org_id, operator=record.role == ADMIN),
            Write(
                KEY,
                {
                    "Put": {
                        "TableName": _table(),
                        "Item": to_ddb(record.item(key_hash)),
                        "ConditionExpression": "attribute_not_exists(keyHash)",
                    }
                },
            ),
            Write(
                KEY_ID,
                {
                    "Put": {
                        "TableName": _table(),
                        "Item": to_ddb({"keyHash": _key_id_item(record.key_id), "keyOf": key_hash}),
                    }
                },
            ),
        ]
    )


def list_for_org(org_id: str) -> list[ApiKeyRecord]:
    with unavailable_on_throttling():
        pages = (
            client()
            .get_paginator("query")
            .paginate(
                TableName=_table(),
                IndexName="byOrg",
                KeyConditionExpression="orgId = :org",
                ExpressionAttributeValues=values(org=org_id),
            )
        )
        return [ApiKeyRecord.from_item(from_ddb(item)) for page in pages for item in page["Items"]]


def revoke(key_id: str, revoked_at: str, by_key_id: str | None) -> ApiKeyRecord | None:
    """Mark a key revoked, by the admin key `by_key_id` (None: the operators' tool), once: revoking it again keeps
    the first revocation (time and key). None if no key has this id."""
    pointer = _get(_key_id_item(key_id))
    if pointer is None:
        return None
    revocation = {"revokedAt": revoked_at, **({"revokedByKeyId": by_key_id} if by_key_id is not None else {})}
    assignments = ", ".join(f"{name} = :{name}" for name in revocation)
    try:
        return ApiKeyRecord.from_item(
            update(
                KEY,
                TableName=_table(),
                Key=to_ddb({"keyHash": pointer["keyOf"]}),
                UpdateExpression=f"SET {assignments}",
                ConditionExpression="attribute_exists(keyHash) AND attribute_not_exists(revokedAt)",
                ExpressionAttributeValues=values(**revocation),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        )
    except ConditionFailed as failure:
        revoked_already = failure.old_item(KEY)
        return ApiKeyRecord.from_item(revoked_already) if revoked_already else None
