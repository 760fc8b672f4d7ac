"""The request examples of openapi.json: what Swagger UI's "Try it out" sends (its sample built from a schema
would fail), each a request that succeeds on `make run`.

They live here, not in the route functions: Powertools' `Example` model pulls in its whole OpenAPI model module,
about 100 ms of every cold start of a function that imports it, for a document no function serves.
"""

from __future__ import annotations

from typing import Any

from local.regulatory import LOCAL_ADDRESS, LOCAL_BUNDLES

# route key ("METHOD /path") -> example name -> {summary, value}
REQUEST_EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "POST /phoneNumber/addClientPhone": {
        "national": {
            "summary": "A French number, national format",
            "value": {"phoneNumber": "06 12 34 56 78", "friendlyName": "Front desk"},
        },
        "country": {
            "summary": "A number of another country",
            "value": {"phoneNumber": "020 7946 0018", "country": "GB", "friendlyName": "London office"},
        },
    },
    "POST /phoneNumber/buyTwilioNumberAndActivate": {
        "areaCode": {
            "summary": "A local US number in area code 415",
            "value": {"countryCode": "US", "areaCode": "415"},
        },
        "tollFree": {
            "summary": "A toll-free US number, named",
            "value": {"countryCode": "US", "numberType": "tollFree", "friendlyName": "Support line"},
        },
    },
    "PATCH /phoneNumber/updatePhoneNumber/{id}": {
        "rename": {
            "summary": "Rename it and route its calls elsewhere",
            "value": {
                "friendlyName": "Night line",
                "voiceUrl": "https://voice.robotappel.com/twilio/inbound?line=night",
            },
        },
        "unlink": {"summary": "Unlink its client phone", "value": {"clientPhoneNumber": ""}},
    },
    "PUT /phoneNumber/regulatory/{countryCode}": {
        "france": {
            "summary": "The bundle and address approved for French local numbers",
            "value": {"numberType": "local", "bundleSid": LOCAL_BUNDLES["local"], "addressSid": LOCAL_ADDRESS},
        },
    },
    "POST /admin/orgs": {
        "withTokens": {
            "summary": "A new organisation with an opening balance",
            "value": {"orgId": "org-acme", "tokens": 1000},
        },
    },
    "POST /admin/orgs/{orgId}/apiKeys": {
        "member": {"summary": "A key for the organisation's applications", "value": {"role": "member"}},
    },
    "POST /admin/orgs/{orgId}/credits": {
        "topUp": {"summary": "A paid top-up", "value": {"tokens": 500, "reason": "Invoice 2026-042 paid"}},
    },
    "PUT /admin/orgs/{orgId}/usagePlan": {
        "large": {"summary": "More requests a second and a day", "value": {"plan": "large"}},
    },
    "PUT /admin/orgs/{orgId}/status": {
        "suspend": {
            "summary": "Stop the organisation's routes and its Twilio subaccount",
            "value": {"status": "suspended"},
        },
        "reactivate": {"summary": "Restore both", "value": {"status": "active"}},
    },
}


def add_request_examples(operation: dict[str, Any], route_key: str) -> None:
    """The route's examples on its JSON request body, if it has both."""
    examples = REQUEST_EXAMPLES.get(route_key)
    media_type = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if examples and media_type is not None:
        media_type["examples"] = examples
