"""Onboarding in one step: an organisation with its opening balance and its first API key."""

from dataclasses import dataclass

from robotappel.models.tenants import ApiKeyIssued, CreateOrgDto, IssueApiKeyDto, OrgCreated
from robotappel.tenants.api_keys import issue_api_key
from robotappel.tenants.orgs import create_org


@dataclass(frozen=True)
class Onboarded:
    org: OrgCreated
    key: ApiKeyIssued


def onboard(org_id: str, tokens: int, role: str, request_id: str, api_key: str | None = None) -> Onboarded:
    """Create the org and issue its first key (a random one, or `api_key`: the local seed's fixed keys).

    Invalid input (an org id, a role) is a pydantic ValidationError, before anything is written."""
    org_dto, key_dto = CreateOrgDto(orgId=org_id, tokens=tokens), IssueApiKeyDto.model_validate({"role": role})
    org = create_org(org_dto, request_id)
    key = issue_api_key(org_id, key_dto, api_key=api_key)
    return Onboarded(org=org, key=key)
