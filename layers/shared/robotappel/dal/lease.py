"""A lease: one holder at a time for a named job (NumbersTable, orgId "#lease", sk = the job's name).

Taken with a conditional write that succeeds only when nobody holds it or the last holder's time is up, so a
holder that died frees it by itself; released by its holder only.
"""

from contextlib import suppress

from robotappel.config import get_settings
from robotappel.dal.dynamodb import ConditionFailed, Write, to_ddb, transact, update, values

_PARTITION = "#lease"
LEASE = "lease"


def take(job: str, holder: str, now: str, until: str) -> bool:
    """True if `holder` now holds the lease of `job` until `until` (ISO times compare as text)."""
    try:
        update(
            LEASE,
            TableName=get_settings().numbers_table,
            Key=to_ddb({"orgId": _PARTITION, "sk": job}),
            UpdateExpression="SET holder = :holder, leaseUntil = :until",
            ConditionExpression="attribute_not_exists(leaseUntil) OR leaseUntil < :now",
            ExpressionAttributeValues=values(holder=holder, until=until, now=now),
        )
    except ConditionFailed:
        return False
    return True


def give_back(job: str, holder: str) -> None:
    """Free the lease of `job` if `holder` still holds it."""
    with suppress(ConditionFailed):  # taken over by another run after ours ran out of time
        transact(
            [
                Write(
                    LEASE,
                    {
                        "Delete": {
                            "TableName": get_settings().numbers_table,
                            "Key": to_ddb({"orgId": _PARTITION, "sk": job}),
                            "ConditionExpression": "holder = :holder",
                            "ExpressionAttributeValues": values(holder=holder),
                        }
                    },
                )
            ]
        )
