"""TokenMeter: charges one route call exactly once, and only when the call succeeds.

Two ways to pay, chosen by the use case:
- a read route does its work and the API wrapper charges afterwards (one transaction: balance + ledger);
- a route with a side effect outside DynamoDB (Twilio) calls `hold()` first, so that a short balance is a 402
  before anything happens, then `commit(items)` writes its state change and turns the hold into a charge in one
  transaction. If anything fails in between, the wrapper refunds the hold.
"""

from typing import TYPE_CHECKING

from robotappel.dal import tokens as ledger
from robotappel.dal.dynamodb import transact
from robotappel.ids import new_id, now_iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


class TokenMeter:
    def __init__(self, org_id: str, route_key: str, tokens: int, request_id: str) -> None:
        self.entry = ledger.LedgerEntry(
            org_id=org_id,
            entry_id=new_id("le"),
            route=route_key,
            tokens=tokens,
            request_id=request_id,
            created_at=now_iso(),
        )
        self._held = False
        self.settled = False
        self.charged = 0

    @property
    def tokens(self) -> int:
        return self.entry.tokens

    def hold(self) -> None:
        """Reserve the cost now (402 if the balance is short); nothing else has happened yet."""
        if self.tokens and not self._held:
            ledger.debit(self.entry, "held")
            self._held = True

    def commit(self, state_change: list["TransactWriteItemTypeDef"]) -> None:
        """Write `state_change` and the charge in one transaction."""
        if self._held:
            transact([*state_change, ledger.settle_item(self.entry)])
        elif self.tokens:
            ledger.debit(self.entry, "charged", with_items=state_change)
        elif state_change:
            transact(state_change)
        self.settled = True
        self.charged = self.tokens

    def waive(self) -> None:
        """This call is not charged: it replays a result that was paid for already (idempotency)."""
        self.settled = True

    def charge(self) -> None:
        """Charge a call that succeeded without committing through the meter (read routes)."""
        if not self.settled:
            self.commit([])

    def refund(self) -> None:
        """Undo a hold of a call that failed; a no-op when nothing was held or it was already charged."""
        if self._held and not self.settled:
            ledger.refund(self.entry)
            self._held = False

    def remaining(self) -> int:
        return ledger.get_balance(self.entry.org_id)
