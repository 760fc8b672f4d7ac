"""Operating the service: organisations, their API keys and their top-ups (the /admin routes and the admin CLI)."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# Safe in a URL path, a DynamoDB key and a log line; the seed's and the tests' ids ("org-demo") fit.
OrgId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", examples=["org-acme"])]
Role = Literal["member", "admin"]


class OperatorModel(BaseModel):
    """Built at first use, not at import: every route that may name another org imports this module (to answer 404
    for one that does not exist), and only the /admin routes and the operators' tool use its models."""

    model_config = ConfigDict(defer_build=True)


class CreateOrgDto(OperatorModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    orgId: OrgId
    # Strict, as every token count an operator sends: "100", 1e3 or true are mistakes, not 100, 1000 or 1.
    tokens: int = Field(
        default=0, ge=0, le=1_000_000_000, strict=True, description="Opening balance, credited to the ledger"
    )
    operator: bool = Field(
        default=False, strict=True, description="An operator org (the platform's staff): the only orgs with admin keys"
    )


class OrgCreated(OperatorModel):
    orgId: str
    balance: int


class IssueApiKeyDto(OperatorModel):
    model_config = ConfigDict(extra="forbid")

    role: Role = "member"


class ApiKeyIssued(OperatorModel):
    keyId: str
    apiKey: str = Field(description="The key itself: shown this once, only its SHA-256 is stored")
    orgId: str
    role: Role
    createdAt: str


class ApiKeyInfo(OperatorModel):
    keyId: str
    orgId: str
    role: Role
    createdAt: str
    revokedAt: str | None = None
    hint: str = Field(description="The key's last 4 characters")


class ApiKeyRevoked(OperatorModel):
    keyId: str
    revokedAt: str


class CreditDto(OperatorModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    tokens: int = Field(gt=0, le=1_000_000_000, strict=True, examples=[500])
    reason: str = Field(min_length=1, max_length=200, examples=["Invoice 2026-042 paid"])


class Credited(OperatorModel):
    orgId: str
    balance: int
    entryId: str


class UsagePlanInfo(OperatorModel):
    plan: str = Field(description="Its name in template.yaml's plans (default, large)")
    rateLimit: float | None = Field(description="Requests a second, per org (None: not throttled)")
    burstLimit: int | None
    quotaLimit: int | None = Field(description="Requests a quotaPeriod, per org (None: no quota)")
    quotaPeriod: str | None


class ChangeUsagePlanDto(OperatorModel):
    model_config = ConfigDict(extra="forbid")

    plan: str = Field(
        pattern=r"^[a-z][a-z0-9-]{0,31}$", examples=["large"], description="One of the stage's plans (default, large)"
    )


class OrgUsagePlan(OperatorModel):
    orgId: str
    plan: str


OrgStatusName = Literal["active", "suspended"]


class OrgStatusDto(OperatorModel):
    model_config = ConfigDict(extra="forbid")

    status: OrgStatusName = Field(
        description="suspended: every route of the org answers 403 org_suspended and its Twilio subaccount is "
        "suspended; active: both restored"
    )


class OrgStatus(OperatorModel):
    orgId: str
    status: OrgStatusName
    suspendedAt: str | None = None
