"""What each route costs, in one place. Keys are API Gateway route keys ("METHOD /resource").

A deployment may override any of them with the TOKEN_COSTS setting (JSON object with the same keys).
"""

from types import MappingProxyType

from robotappel.config import get_settings

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
        "POST /phoneNumber/twilio/callStatus": 0,
        "POST /admin/orgs": 0,
        "POST /admin/orgs/{orgId}/apiKeys": 0,
        "GET /admin/orgs/{orgId}/apiKeys": 0,
        "DELETE /admin/apiKeys/{keyId}": 0,
        "POST /admin/orgs/{orgId}/credits": 0,
    }
)


def cost_of(route_key: str) -> int:
    """The cost of a route; an unknown route is a deployment error, not a free call."""
    overrides = get_settings().token_costs
    if route_key in overrides:
        return overrides[route_key]
    return ROUTE_COSTS[route_key]
