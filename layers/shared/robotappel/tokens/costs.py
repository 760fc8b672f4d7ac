"""What each route costs, in one place. Keys are API Gateway route keys ("METHOD /resource").

A deployment may override any of them with the TOKEN_COSTS setting (JSON object with the same keys).
"""

from collections.abc import Mapping
from types import MappingProxyType

from robotappel.config import ConfigurationError, get_settings

ROUTE_COSTS = MappingProxyType(
    {
        "POST /phoneNumber/addClientPhone": 10,
        "DELETE /phoneNumber/deletePhoneNumber/{id}": 5,
        "GET /phoneNumber/getAllClientPhoneNumbers": 5,
        "POST /phoneNumber/buyTwilioNumberAndActivate": 40,
        "GET /phoneNumber/GetTwilioPhoneNumberByClientPhoneNumber/{clientPhoneNumber}": 5,
        "GET /phoneNumber/GetTwilioPhoneNumberByOrg": 5,
        "GET /phoneNumber/getOrgPhoneNumberList/{orgId}": 5,
        "GET /phoneNumber/getOrgPhoneNumberList": 5,
        "PATCH /phoneNumber/updatePhoneNumber/{id}": 5,
        "GET /tokens/balance": 0,
        "GET /tokens/ledger": 0,
        "POST /phoneNumber/twilio/validationStatus": 0,
        "POST /phoneNumber/twilio/validationStatus/{id}": 0,
        "POST /phoneNumber/twilio/callStatus": 0,
        "POST /phoneNumber/twilio/callStatus/{id}": 0,
        "PUT /phoneNumber/regulatory/{countryCode}": 0,
        "GET /phoneNumber/regulatory": 0,
        "POST /admin/orgs": 0,
        "POST /admin/orgs/{orgId}/apiKeys": 0,
        "GET /admin/orgs/{orgId}/apiKeys": 0,
        "DELETE /admin/apiKeys/{keyId}": 0,
        "POST /admin/orgs/{orgId}/credits": 0,
        "PUT /admin/orgs/{orgId}/usagePlan": 0,
        "PUT /admin/orgs/{orgId}/status": 0,
    }
)


def route_costs() -> Mapping[str, int]:
    """The costs in force: the defaults with this deployment's overrides, which may only name known routes."""
    overrides = get_settings().token_costs
    unknown = sorted(set(overrides) - set(ROUTE_COSTS))
    if unknown:
        raise ConfigurationError(
            f"TOKEN_COSTS names routes that do not exist: {unknown}; its keys are route keys such as "
            '"POST /phoneNumber/buyTwilioNumberAndActivate"'
        )
    return {**ROUTE_COSTS, **overrides}


def cost_of(route_key: str) -> int:
    """The cost of a route; an unknown route is a deployment error, not a free call."""
    return route_costs()[route_key]
