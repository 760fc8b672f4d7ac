"""TokenMeter: charges one route call exactly once, and only when the call succeeds.

Two ways to pay, chosen by the use case:
- a read route does its work and the API wrapper charges afterwards (`charge()`: one conditional write);
- a route with a side effect outside DynamoDB (Twilio) calls `hold()` first, so that a short balance is a 402
  before anything happens, then `commit(items)` writes its state change and turns the hold into a charge in one
  transaction. If anything fails in between, the wrapper refunds the hold.
Either way the write that takes the tokens returns the balance left, so `remaining()` costs no extra read.
"""

from robotappel.dal import ledger
from robotappel.dal.dynamodb import Write, transact
from robotappel.ids import new_id, now_iso


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
        self._left_to_reconciler = False
        self._balance_after_debit: int | None = None
        self.settled = False
        self.charged = 0

    @property
    def tokens(self) -> int:
        return self.entry.tokens

    def hold(self) -> None:
        """Reserve the cost now (402 if the balance is short); nothing else has happened yet."""
        if self.tokens and not self._held:
            self._balance_after_debit = ledger.debit(self.entry, ledger.HELD)
            self._held = True

    def commit(self, state_change: list[Write]) -> None:
        """Write `state_change` and turn the hold into a charge (`ledger.CHARGE`), in one transaction."""
        if self.tokens and not self._held:
            raise RuntimeError("a route that pays for a state change holds its cost before committing it")
        if self._held:
            transact([*state_change, ledger.settle(self.entry)])
        elif state_change:
            transact(state_change)
        self.settled = True
        self.charged = self.tokens

    def waive(self) -> None:
        """This call is not charged: it replays a result that was paid for already (idempotency)."""
        self.settled = True

    def charge(self) -> None:
        """Charge a call that succeeded without committing through the meter (read routes)."""
        if self.settled:
            return
        if self.tokens:
            self._balance_after_debit = ledger.debit(self.entry, ledger.CHARGED)
        self.settled = True
        self.charged = self.tokens

    def leave_to_reconciler(self) -> None:
        """This call failed without knowing whether Twilio acted: its hold stays open, owned by the work it
        recorded ahead (a purchase intent), which the reconciler settles or refunds."""
        self._left_to_reconciler = True

    def refund(self) -> None:
        """Undo a hold of a call that failed; a no-op when nothing was held, it was already charged, or the
        reconciler will decide."""
        if self._held and not self.settled and not self._left_to_reconciler:
            ledger.refund(self.entry)
            self._held = False

    def remaining(self) -> int:
        """The org's balance right after this call's debit; read afresh when the call debited nothing."""
        if self._balance_after_debit is not None and self.charged:
            return self._balance_after_debit
        return ledger.get_balance(self.entry.org_id)
