"""What every route's description shares and no resolver knows: the API's error bodies and the error responses
each route may answer, the token headers of charged routes, the API key, and the Twilio signature of webhooks."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Tag

from local import template

BEARER = "bearerAuth"
BEARER_SCHEME = HTTPBearer(description="Your organisation's API key: `Authorization: Bearer <api key>`.")
WEBHOOKS_TAG = "webhooks"
TAGS: list[Tag | str] = [
    Tag(name="phoneNumber", description="Client phones (verified caller IDs) and Twilio numbers."),
    Tag(name="tokens", description="The organisation's token balance and ledger."),
    Tag(name="admin", description="Operators (admin API keys only, free): organisations, API keys, top-ups."),
    Tag(name=WEBHOOKS_TAG, description="Called by Twilio, signed with X-Twilio-Signature; no API key."),
]
_SCHEMA_REF = "#/components/schemas/"

_ERROR_CODE = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "description": "snake_case error code"}


def _error_with(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """The schema of an error body that carries more than `error` and `message`."""
    extension: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        extension["required"] = required
    return {"allOf": [{"$ref": _SCHEMA_REF + "Error"}, extension]}


ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "description": "Every error the API answers, whoever produces it (function or gateway).",
        "properties": {"error": _ERROR_CODE, "message": {"type": "string", "description": "A human sentence."}},
        "required": ["error", "message"],
        "additionalProperties": True,
    },
    "InsufficientTokensError": _error_with(
        {
            "error": {"const": "insufficient_tokens"},
            "required": {"type": "integer", "description": "Tokens the route costs."},
            "balance": {"type": "integer", "description": "Tokens the organisation has."},
        },
        required=["required", "balance"],
    ),
    "InvalidRequestError": _error_with(
        {
            "field": {"type": "string", "description": "The first invalid field, e.g. phoneNumber."},
            "problems": {
                "type": "array",
                "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}},
            },
        },
        required=["field"],
    ),
    "TwilioFailureError": _error_with(
        {"twilioCode": {"type": "integer", "description": "Twilio's error code, if any."}},
    ),
}

# status -> (description, schema name)
_ERRORS: dict[int, tuple[str, str]] = {
    401: ("No or invalid API key.", "Error"),
    402: ("Not enough tokens: nothing was done, nothing charged.", "InsufficientTokensError"),
    403: (
        "Not allowed: another organisation's data, an admin route with a member key, a webhook call without a "
        "valid Twilio signature, or `no_usage_plan`: the organisation has no usage plan yet (ask the operators).",
        "Error",
    ),
    404: ("No such number in this organisation, or no such organisation or API key.", "Error"),
    409: (
        "The request conflicts with what exists. `already_exists`, `already_verified`, `org_exists`, "
        "`api_key_exists`: it exists already. `no_numbers_available`, `number_unavailable`: Twilio has no such number "
        "(any more). `deleted`: the phone was deleted while it was being added. `conflict`: the number was changed by "
        "other requests meanwhile (read it and retry), or the Idempotency-Key's number was released (use a new key). "
        "`in_progress`: the same Idempotency-Key is being served right now, retry after `Retry-After` seconds. "
        "`operator_org`: an operator organisation is not suspended by the API. Nothing is charged.",
        "Error",
    ),
    413: ("The request is over API Gateway's 10 MB payload limit; nothing ran.", "Error"),
    422: ("Invalid input; `field` names the first invalid one.", "InvalidRequestError"),
    429: (
        "Rate limited (by the organisation's usage plan, the API or Twilio); retry after `Retry-After` seconds. "
        "`quota_exceeded`: the organisation's requests of the day are used up, until 00:00 UTC.",
        "Error",
    ),
    502: ("Twilio failed; `twilioCode` is Twilio's error code when it gave one.", "TwilioFailureError"),
    503: (
        "A dependency is unavailable, or a write lost a race with another; retry after `Retry-After` seconds.",
        "Error",
    ),
}
# status -> a body the API answers with it: what Swagger UI shows (its sample built from the schema would be a random
# string matching the code's pattern, and `additionalProp1`). The codes are the API's; tests check them.
ERROR_EXAMPLES: dict[int, dict[str, Any]] = {
    401: {"error": "unauthorized", "message": "A valid API key is required: Authorization: Bearer <key>."},
    402: {
        "error": "insufficient_tokens",
        "message": "This call costs 40 tokens and the balance is 12.",
        "required": 40,
        "balance": 12,
    },
    403: {"error": "forbidden", "message": "This route needs an admin API key."},
    404: {"error": "not_found", "message": "No phone number with this id."},
    409: {"error": "already_exists", "message": "+33612345678 is already registered for this organisation."},
    413: {
        "error": "request_too_large",
        "message": "The request is over the API's 10 MB limit: send a smaller body.",
    },
    422: {
        "error": "validation_error",
        "message": "phoneNumber: Field required",
        "field": "phoneNumber",
        "problems": [{"field": "phoneNumber", "message": "Field required"}],
    },
    429: {"error": "rate_limited", "message": "Too many requests; retry later."},
    502: {
        "error": "twilio_error",
        "message": "Twilio answered with HTTP 500 and error 20500.",
        "twilioCode": 20500,
    },
    503: {"error": "service_unavailable", "message": "A dependency is unavailable; retry later."},
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}}}
_TOKEN_HEADERS = {
    "X-Tokens-Charged": "Tokens this call cost.",
    "X-Tokens-Remaining": "The organisation's balance after this call.",
}
TOKEN_HEADER_REFS = {name: {"$ref": f"#/components/headers/{name}"} for name in _TOKEN_HEADERS}
NEXT_CURSOR = "X-Next-Cursor"
NEXT_CURSOR_HEADER_REF = {"$ref": f"#/components/headers/{NEXT_CURSOR}"}

TWILIO_SIGNATURE = {
    "name": "X-Twilio-Signature",
    "in": "header",
    "required": True,
    "description": "Twilio's signature of PUBLIC_BASE_URL + path and the form parameters (the only authentication).",
    "schema": {"type": "string"},
}
TWILIO_FORM = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}
    },
}


def _error_response(status: int) -> dict[str, Any]:
    description, schema = _ERRORS[status]
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _SCHEMA_REF + schema}, "example": ERROR_EXAMPLES[status]}},
    }
    if status in (429, 503):
        response["headers"] = _RETRY_AFTER
    return response


SHARED: dict[str, Any] = {
    "schemas": ERROR_SCHEMAS,
    "responses": {str(status): _error_response(status) for status in _ERRORS},
    "headers": {
        **{
            name: {"description": description, "schema": {"type": "string", "pattern": "^[0-9]+$"}}
            for name, description in _TOKEN_HEADERS.items()
        },
        NEXT_CURSOR: {
            "description": "Present while more rows exist: pass it as `cursor` for the next page (bound to this list "
            "and org).",
            "schema": {"type": "string"},
        },
    },
}


def error_responses(route: template.Route, cost: int) -> dict[str, Any]:
    """The errors `route` may answer, each a reference to its shared response."""
    if not route.authorized:
        statuses = [403, 413, 422]
    else:
        statuses = [401, 403, 422, 429, 503]
        if cost:
            statuses.append(402)
        if "{" in route.path:
            statuses.append(404)
        if route.method != "GET":  # the routes that write act at Twilio; API Gateway refuses a body over 10 MB
            statuses += [409, 413, 502]
    return {str(status): {"$ref": f"#/components/responses/{status}"} for status in sorted(statuses)}
