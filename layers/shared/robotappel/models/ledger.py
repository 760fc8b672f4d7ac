from typing import Literal

from pydantic import BaseModel, Field

LedgerStatus = Literal["held", "charged", "refunded", "credited"]


class TokenLedgerEntry(BaseModel):
    entryId: str
    createdAt: str
    route: str = Field(description='The route key of the call it paid for, or "credit" for a top-up')
    tokens: int = Field(gt=0)
    status: LedgerStatus = Field(description="The entry's latest status")
    requestId: str | None = None
    reason: str | None = Field(default=None, description="Why the tokens were credited (top-ups only)")


class TokenLedgerPage(BaseModel):
    entries: list[TokenLedgerEntry]
    nextCursor: str | None = Field(description="Pass as ?cursor= for the next (older) entries; null at the end")
