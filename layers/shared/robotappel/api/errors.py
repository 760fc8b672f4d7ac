"""The one place that turns exceptions into HTTP responses: `{"error": code, "message": sentence, ...}`."""

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.metrics import MetricUnit

from robotappel.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InsufficientTokens,
    InvalidInput,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    Unauthenticated,
    UpstreamFailure,
)
from robotappel.observability import logger, metrics

STATUS_OF: dict[type[DomainError], HTTPStatus] = {
    InvalidInput: HTTPStatus.UNPROCESSABLE_ENTITY,
    Unauthenticated: HTTPStatus.UNAUTHORIZED,
    InsufficientTokens: HTTPStatus.PAYMENT_REQUIRED,
    Forbidden: HTTPStatus.FORBIDDEN,
    NotFound: HTTPStatus.NOT_FOUND,
    Conflict: HTTPStatus.CONFLICT,
    RateLimited: HTTPStatus.TOO_MANY_REQUESTS,
    UpstreamFailure: HTTPStatus.BAD_GATEWAY,
    ServiceUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
}


def error_response(
    status: HTTPStatus, code: str, message: str, headers: dict[str, str] | None = None, **details: Any
) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": code, "message": message, **details},
        headers=headers,
    )


def _from_domain(error: DomainError) -> Response[Any]:
    status = next(STATUS_OF[cls] for cls in type(error).__mro__ if cls in STATUS_OF)
    if isinstance(error, InsufficientTokens):
        metrics.add_metric(name="InsufficientTokens", unit=MetricUnit.Count, value=1)
    headers = None if error.retry_after_seconds is None else {"Retry-After": str(error.retry_after_seconds)}
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        logger.warning("dependency failure", extra={"error": error.error_code, **error.details})
    return error_response(status, error.error_code, error.message, headers, **error.details)


def _field_name(error: dict[str, Any], sent: Any) -> str:
    """The invalid field as the client wrote it: ("body", "phoneNumber") -> "phoneNumber"; ("path", "id") -> "id";
    ("body",) -> "body". Within a body, pydantic inserts the union member it tried into the location
    (`clientPhoneNumber.function-after[_e164(), constrained-str]`): only what is in the body the client `sent`, or
    the field it left out, names the field (list indexes are dropped)."""
    source, *parts = error.get("loc") or ("body",)
    if source != "body":
        return str(parts[0]) if parts else str(source)
    named, node = [], sent
    for position, part in enumerate(parts, start=1):
        if isinstance(node, dict) and part in node:
            named.append(str(part))
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif error.get("type") == "missing" and position == len(parts):
            named.append(str(part))
    return ".".join(named) or "body"


def _sent_body(app: APIGatewayRestResolver) -> Any:
    """The request's JSON body, or None when it has none that parses."""
    try:
        return app.current_event.json_body
    except ValueError:
        return None


def _from_validation(error: RequestValidationError, sent: Any = None) -> Response[Any]:
    problems = [
        {"field": _field_name(dict(item), sent), "message": str(item.get("msg", ""))} for item in error.errors()
    ]
    first = problems[0] if problems else {"field": "body", "message": "Invalid request."}
    return error_response(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "validation_error",
        f"{first['field']}: {first['message']}",
        field=first["field"],
        problems=problems,
    )


def _undecodable_body(_: UnicodeDecodeError) -> Response[Any]:
    """Powertools decodes a base64 body before parsing it, and turns only a JSONDecodeError into a validation error:
    bytes that are not UTF-8 escape as this."""
    return _from_validation(RequestValidationError([{"loc": ("body",), "msg": "The body is not UTF-8 text."}]))


def _unexpected(error: Exception) -> Response[Any]:
    logger.exception("unhandled error", extra={"errorType": type(error).__name__})
    return error_response(
        HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "Something went wrong on our side; retry later."
    )


def _route_not_found(_: Exception) -> Response[Any]:
    return error_response(HTTPStatus.NOT_FOUND, "not_found", "No such route.")


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    app.exception_handler(DomainError)(_from_domain)
    app.exception_handler(RequestValidationError)(lambda error: _from_validation(error, _sent_body(app)))
    app.exception_handler(UnicodeDecodeError)(_undecodable_body)
    app.not_found()(_route_not_found)
    app.exception_handler(Exception)(_unexpected)
