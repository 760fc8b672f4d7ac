"""API keys (ApiKeysTable: keyHash). Only the SHA-256 of a key is ever stored or looked up."""

import hashlib
from dataclasses import dataclass

from robotappel.config import get_settings
from robotappel.dal.dynamodb import client, from_ddb, to_ddb, unavailable_on_throttling


@dataclass(frozen=True)
class ApiKeyRecord:
    org_id: str
    role: str


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def find(api_key: str) -> ApiKeyRecord | None:
    with unavailable_on_throttling():
        response = client().get_item(
            TableName=get_settings().api_keys_table, Key=to_ddb({"keyHash": hash_key(api_key)})
        )
    if "Item" not in response:
        return None
    item = from_ddb(response["Item"])
    return ApiKeyRecord(org_id=item["orgId"], role=item["role"])


def put(api_key: str, record: ApiKeyRecord) -> None:
    with unavailable_on_throttling():
        client().put_item(
            TableName=get_settings().api_keys_table,
            Item=to_ddb({"keyHash": hash_key(api_key), "orgId": record.org_id, "role": record.role}),
        )
