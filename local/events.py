"""The events of events/ (one per function, what `sam local invoke -e` sends), made into the invocation a test or
the bench needs: a fresh request id, and the caller, body, path parameters, query and headers it asks for."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from twilio.request_validator import RequestValidator

from local import template

EVENTS_DIR = template.ROOT / "events"


def load(name: str) -> dict[str, Any]:
    """events/<name>.json as it is."""
    event: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return event


def api_event(
    name: str,
    *,
    org: str | None = None,
    role: str = "member",
    key_id: str | None = None,
    body: Any = None,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """events/<name>.json with a fresh request id; as the caller `org` with `role` and the key `key_id` (else the
    event's own caller), and with the given body, path parameters (the path follows), query and headers."""
    event = load(name)
    event["requestContext"]["requestId"] = str(uuid.uuid4())
    if org is not None and "authorizer" in event["requestContext"]:
        event["requestContext"]["authorizer"] |= {"principalId": org, "orgId": org, "role": role}
    if key_id is not None and "authorizer" in event["requestContext"]:
        event["requestContext"]["authorizer"]["keyId"] = key_id
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    if path_params is not None:
        event["pathParameters"] = path_params
        path = event["resource"]
        for key, value in path_params.items():
            path = path.replace("{" + key + "}", quote(value, safe=""))
        event["path"] = path
    if query is not None:
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = {key: [value] for key, value in query.items()}
    if headers:
        event["headers"] = {**event["headers"], **headers}
        event["multiValueHeaders"] = {key: [value] for key, value in event["headers"].items()}
    return event


def twilio_callback_event(
    name: str, url: str, auth_token: str, params: dict[str, str], signature: str | None = None
) -> dict[str, Any]:
    """Twilio's callback to `url` (the public URL of the webhook `name`, with the record's id or, as Twilio was
    given before, without): form-encoded, signed with the account's auth token unless `signature` is given."""
    signed = RequestValidator(auth_token).compute_signature(url, params)
    header = {"X-Twilio-Signature": signed if signature is None else signature}
    route = load(name)["resource"].removesuffix("/{id}")
    last = urlsplit(url).path.rsplit("/", 1)[-1]
    if not route.endswith(f"/{last}"):
        return api_event(name, body=urlencode(params), headers=header, path_params={"id": last})
    event = api_event(name, body=urlencode(params), headers=header)
    event |= {"resource": route, "path": route, "pathParameters": None}
    event["requestContext"] |= {"resourcePath": route, "path": f"/{event['requestContext']['stage']}{route}"}
    return event
