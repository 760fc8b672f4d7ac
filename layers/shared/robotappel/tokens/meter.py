"""TokenMeter: charges one route call exactly once, and only when the call succeeds.

Two ways to pay, chosen by the use case:
- a read route does its work and the API wrapper charges afterwards (`charge()`: one conditional write);
- a route with a side effect outside DynamoDB (Twilio) calls `hold()` first, so that a short balance is a 402
  before anything happens, then `commit(items)` writes its state change and turns the hold into a charge in one
  transaction. If anything fails in between, the wrapper refunds the hold, unless the use case entrusted it to a
  record written ahead of Twilio (`entrust()`): that record keeps it open, for its own commit or the reconciler to
  settle (Twilio did the work) or refund (it did not).
Either way the write that takes the tokens returns the balance left, so `remaining()` costs no extra read.
"""

from robotappel.dal import ledger
from robotappel.dal.dynamodb import ConditionFailed, Write, transact
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
        self._entrusted = False
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

    @property
    def open_hold(self) -> ledger.LedgerEntry | None:
        """The ledger entry of this call's hold while it is open; None when nothing is held (a free route)."""
        return self.entry if self._held and not self.settled else None

    def entrust(self) -> None:
        """The open hold is stored on a record written before Twilio acts: from now on a failure leaves it open."""
        self._entrusted = True

    def adopt(self, hold: ledger.LedgerEntry) -> None:
        """This call resumes work written ahead with its hold (a purchase retried with its Idempotency-Key): it pays
        with that hold, entrusted to that record, instead of holding its own."""
        self.entry = hold
        self._held = True
        self._entrusted = True

    def reclaim(self) -> None:
        """The record that kept the hold is gone again (Twilio refused): a failure refunds it, as before `entrust`."""
        self._entrusted = False

    def commit(self, state_change: list[Write]) -> None:
        """Write `state_change` and turn the hold into a charge (`ledger.CHARGE`), in one transaction."""
        if self.tokens and not self._held:
            raise RuntimeError("a route that pays for a state change holds its cost before committing it")
        if self._held:
            try:
                transact([*state_change, ledger.settle(self.entry)])
            except ConditionFailed:
                raise
            except Exception:
                # DynamoDB may have applied it and lost its answer: this call's own hold (not one entrusted to a
                # record, which a callback or the reconciler may close) is closed by this commit alone.
                if self._entrusted or not ledger.hold_closed(self.entry):
                    raise
        elif state_change:
            transact(state_change)
        self.settled = True
        self.charged = self.tokens

    def committed(self) -> None:
        """`commit` failed as far as its caller could tell, yet a consistent read shows it was applied: the hold
        was turned into a charge with it."""
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

    def refund(self) -> None:
        """Undo a hold of a call that failed; a no-op when nothing was held, it was already charged, or a record
        keeps it."""
        if self._held and not self.settled and not self._entrusted:
            ledger.refund(self.entry)
            self._held = False

    def remaining(self) -> int:
        """The org's balance right after this call's debit; read afresh when the call debited nothing."""
        if self._balance_after_debit is not None and self.charged:
            return self._balance_after_debit
        return ledger.get_balance(self.entry.org_id)
