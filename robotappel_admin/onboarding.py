"""Onboarding in one step: an organisation with its opening balance and its first API key."""

from dataclasses import dataclass

from robotappel.models.tenants import ApiKeyIssued, CreateOrgDto, IssueApiKeyDto, OrgCreated
from robotappel.tenants.api_keys import issue_api_key, role_not_allowed
from robotappel.tenants.orgs import create_org


@dataclass(frozen=True)
class Onboarded:
    org: OrgCreated
    key: ApiKeyIssued


def onboard(
    org_id: str, tokens: int, role: str, request_id: str, api_key: str | None = None, *, operator: bool = False
) -> Onboarded:
    """Create the org (an `operator` org or a customer's) and issue its first key (a random one, or `api_key`: the
    local seed's fixed keys).

    Invalid input (an org id, a role, an admin key for a customer) is refused before anything is written: a pydantic
    ValidationError, or InvalidInput `role_not_allowed`."""
    org_dto = CreateOrgDto(orgId=org_id, tokens=tokens, operator=operator)
    key_dto = IssueApiKeyDto.model_validate({"role": role})
    if key_dto.role == "admin" and not operator:
        raise role_not_allowed(org_id)
    org = create_org(org_dto, request_id)
    key = issue_api_key(org_id, key_dto, api_key=api_key)
    return Onboarded(org=org, key=key)
