"""The token_ledger function's work: every change of an account's `lastEntry` becomes, or advances, a ledger item.

The TokensTable stream delivers each write of an item once and in order per item; a batch is retried (records
reported failed) until written, and `write_ledger_entry` makes replays harmless. Records of other items (the
ledger items themselves) and account writes that made no entry (an account opened with no tokens) are skipped.
"""

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from robotappel.dal import ledger


def record_ledger_entry(record: DynamoDBRecord) -> None:
    change = record.dynamodb
    if change is None or change.keys.get("sk") != ledger.ACCOUNT_SK:
        return
    made = change.new_image.get("lastEntry")
    if not made or made == change.old_image.get("lastEntry"):
        return
    ledger.write_ledger_entry(ledger.LedgerEntry.from_attributes(made), made["status"], made["at"])
