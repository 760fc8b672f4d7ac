"""How a route reads its request body: JSON, whatever the Content-Type says.

`curl -d '{...}'` sends `application/x-www-form-urlencoded` unless told otherwise, and Powertools would then parse
the JSON text as a form (422 "Field required ... Extra inputs are not permitted", which says nothing useful). Every
route body of this API is JSON, so a body that parses as JSON is read as JSON; any other body is a 422 naming
`body` that says what to send. Twilio's form-encoded callbacks declare no body parameter: they never come here and
read their form themselves (`robotappel.api.webhooks`).
"""

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware

from robotappel.errors import InvalidInput

JSON_CONTENT_TYPE = "application/json"


class JsonBodies(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, reading every body as JSON."""

    def _get_body(self, app: APIGatewayRestResolver) -> Any:  # type: ignore[override]  # Powertools' hook
        event = app.current_event
        content_type = (event.headers.get("content-type") or "").strip()
        if not event.body or not content_type or content_type.startswith(JSON_CONTENT_TYPE):
            return super()._get_body(app)  # Powertools' own JSON handling and its errors
        try:
            return event.json_body
        except UnicodeDecodeError:
            raise  # bytes that are not text: answered as such (robotappel.api.errors)
        except ValueError as error:
            raise InvalidInput(
                "body",
                f"The body must be JSON, sent with Content-Type: {JSON_CONTENT_TYPE} (this one is {content_type} and "
                """not JSON); with curl: -H 'Content-Type: application/json' -d '{"field": "value"}'.""",
            ) from error


def read_bodies_as_json(app: APIGatewayRestResolver) -> None:
    """Powertools keeps its request validation middleware in this attribute, made in the resolver's __init__ and run
    before any other middleware; an upgrade that moves it fails tests/integration/test_json_bodies.py."""
    app._request_validation_middleware = JsonBodies()  # type: ignore[no-untyped-call]
