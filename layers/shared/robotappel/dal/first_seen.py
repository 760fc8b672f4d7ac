"""What a stack saw the first time, kept to compare with what it sees now (NumbersTable, orgId "#first-seen",
sk = the fact's name): e.g. the Twilio account its credentials open."""

from robotappel.config import get_settings
from robotappel.dal.dynamodb import to_ddb, update, values

_PARTITION = "#first-seen"
FIRST_SEEN = "first_seen"


def first_seen(name: str, value: str) -> str:
    """The value of `name` as first seen: `value` if nothing was stored yet (then stored), else the stored one."""
    attributes = update(
        FIRST_SEEN,
        TableName=get_settings().numbers_table,
        Key=to_ddb({"orgId": _PARTITION, "sk": name}),
        UpdateExpression="SET #value = if_not_exists(#value, :value)",
        ExpressionAttributeNames={"#value": "value"},
        ExpressionAttributeValues=values(value=value),
        ReturnValues="ALL_NEW",
    )
    return str(attributes["value"])
