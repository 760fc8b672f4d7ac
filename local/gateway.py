"""SAM's local API Gateway (`sam local start-api`'s LocalApigwService) with the gaps that matter here closed.

- Routes, stage and the Lambda authorizer are built by samcli's own providers from template.yaml.
- The template's `GatewayResponses` (ignored by samcli) shape every response API Gateway itself produces:
  missing route, missing/invalid API key, Deny policy, authorizer failure, function crash.
- A body that is not UTF-8 reaches the function base64-encoded (samcli: 502).
- An authorizer failing with "Unauthorized" is a 401 (samcli: 502), and a missing or failing authorizer never
  lets the request through (samcli logs a warning and invokes the route anyway).
- Each request gets its own `requestContext.requestId`/`requestTime` (samcli fixes them once per process) and
  an `x-amzn-RequestId` response header; the authorizer and the route see the same request id.
- The authorizer's answer is cached per value of its identity headers for its `ReauthorizeEvery` seconds, as API
  Gateway does (samcli invokes it on every request): a revoked key keeps working until its entry expires.
  Only allowed answers are cached, and the cached context is reused whatever the route: our policy allows every
  route of the API, so that is what API Gateway would decide too. API Gateway's FlushStageAuthorizersCache
  (`DELETE /restapis/{id}/stages/{stage}/cache/authorizers`, where the functions' AWS_ENDPOINT_URL_API_GATEWAY
  points) empties it, as a key's revocation does.
- Each org's requests count against the usage plan its API key is in, found by the authorizer's usageIdentifierKey
  as API Gateway finds it: keys and plans are moto's (made from the template's plans, the keys by onboarding and
  moved by operators through API Gateway's management API, which this gateway forwards to moto). A key in no plan
  is refused (INVALID_API_KEY, 403); past the plan's Throttle (a bucket of BurstLimit requests refilled at
  RateLimit a second) THROTTLED (429, Retry-After), past its daily Quota QUOTA_EXCEEDED (429). Routes without the
  authorizer (webhooks) require no API key, as in the template, and are not counted.
- A request over API Gateway's 10 MB payload quota is refused with the template's REQUEST_TOO_LARGE response (413)
  before anything runs (samcli passes any size on).
- Swagger UI at /docs and the OpenAPI document at /openapi.json, offline, without an API key (local.openapi).
"""

from __future__ import annotations

import copy
import functools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from io import StringIO
from typing import Any

import requests
from flask import Response, current_app, g, has_request_context, request
from samcli.lib.providers.api_provider import ApiProvider
from samcli.lib.providers.provider import Api
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider
from samcli.lib.utils.stream_writer import StreamWriter
from samcli.local.apigw import local_apigw_service
from samcli.local.apigw.event_constructor import construct_v1_event
from samcli.local.apigw.exceptions import InvalidLambdaAuthorizerResponse, LambdaResponseParseException
from samcli.local.apigw.local_apigw_service import LocalApigwService
from samcli.local.apigw.service_error_responses import ServiceErrorResponses
from samcli.local.lambdafn.exceptions import FunctionNotFound
from samcli.local.services.base_local_service import LambdaOutputParser
from werkzeug.exceptions import RequestEntityTooLarge

from local import openapi, template

_EXTENSION = "robotappel.gateway_responses"
# API Gateway answers 401 only when the authorizer fails with exactly this message.
_UNAUTHORIZED_MESSAGE = "Unauthorized"
_CONTEXT_VARIABLE = re.compile(r"\$context\.([A-Za-z.]+)")
# API Gateway's quota for a REST API's payload, "10 MB", and the message of its REQUEST_TOO_LARGE response.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
_TOO_LARGE_MESSAGE = "Request Too Long"
# API Gateway's management API, as far as this gateway answers it (the rest of its paths are the API's).
_FORWARDED_TO_MOTO = ("/apikeys", "/usageplans")
MANAGEMENT_API_PATHS = ("/restapis/", *_FORWARDED_TO_MOTO)


class GatewayError(Exception):
    """A response API Gateway produces itself, by gateway response type (UNAUTHORIZED, DEFAULT_5XX, ...)."""

    def __init__(self, response_type: str, status: int, message: str) -> None:
        super().__init__(message)
        self.response_type = response_type
        self.status = status
        self.message = message


class FunctionError(LambdaResponseParseException):  # type: ignore[misc]  # samcli ships no type hints
    """The function raised: Lambda returned its error payload (errorMessage, errorType, stackTrace)."""

    def __init__(self, error_message: str) -> None:
        super().__init__(error_message)
        self.error_message = error_message


class GatewayResponses:
    """The `GatewayResponses` of the template's AWS::Serverless::Api, applied like API Gateway applies them."""

    def __init__(self, definitions: dict[str, Any]) -> None:
        self._definitions = definitions

    @classmethod
    def from_template(cls) -> GatewayResponses:
        apis = template.resources("AWS::Serverless::Api").values()
        definitions: dict[str, Any] = next((api["Properties"].get("GatewayResponses", {}) for api in apis), {})
        return cls(definitions)

    def response(self, error: GatewayError) -> Response:
        default = "DEFAULT_5XX" if error.status >= 500 else "DEFAULT_4XX"
        definition = self._definitions.get(error.response_type) or self._definitions.get(default) or {}
        status = int(definition.get("StatusCode", error.status))
        body_template = definition.get("ResponseTemplates", {}).get("application/json")
        body = json.dumps({"message": error.message}) if body_template is None else self._render(body_template, error)
        response = Response(body, status=status, content_type="application/json")
        for name, value in definition.get("ResponseParameters", {}).get("Headers", {}).items():
            response.headers[name] = str(value).strip("'")
        return response

    @staticmethod
    def _render(body_template: str, error: GatewayError) -> str:
        """The $context variables a gateway response template may use (API Gateway does not run VTL here)."""
        variables = {
            "error.message": error.message,
            "error.messageString": json.dumps(error.message),  # "the quoted value of $context.error.message"
            "error.responseType": error.response_type,
            "requestId": request_id(),
            "stage": current_app.config.get("STAGE", ""),
        }
        return _CONTEXT_VARIABLE.sub(lambda match: variables.get(match.group(1), match.group(0)), body_template)


def gateway_response(error: GatewayError) -> Response:
    responses: GatewayResponses = current_app.extensions[_EXTENSION]
    return responses.response(error)


def _integration_failure() -> Response:
    """API Gateway's answer when the Lambda integration fails: the function crashed, is missing, or its output is
    not a proxy response."""
    return gateway_response(GatewayError("DEFAULT_5XX", 502, "Internal server error"))


class _ServiceErrorsAsGatewayResponses(ServiceErrorResponses):  # type: ignore[misc]
    """samcli's own error responses, replaced by what API Gateway answers, through the template's responses."""

    @staticmethod
    def lambda_authorizer_unauthorized() -> Response:
        return gateway_response(
            GatewayError("ACCESS_DENIED", 403, "User is not authorized to access this resource with an explicit deny")
        )

    @staticmethod
    def missing_lambda_auth_identity_sources() -> Response:
        return gateway_response(GatewayError("UNAUTHORIZED", 401, _UNAUTHORIZED_MESSAGE))

    @staticmethod
    def lambda_failure_response(*_args: Any) -> Response:
        return _integration_failure()

    @staticmethod
    def lambda_body_failure_response(*_args: Any) -> Response:
        return _integration_failure()  # samcli says 500

    @staticmethod
    def lambda_not_found_response(*_args: Any) -> Response:
        return _integration_failure()

    @staticmethod
    def route_not_found(*_args: Any) -> Response:
        return gateway_response(GatewayError("MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token"))

    @staticmethod
    def not_implemented_locally(message: str) -> Response:
        return gateway_response(GatewayError("DEFAULT_5XX", 501, message))

    @staticmethod
    def container_creation_failed(message: str) -> Response:
        return gateway_response(GatewayError("DEFAULT_5XX", 501, message))

    @staticmethod
    def tenant_id_validation_error(message: str) -> Response:
        return gateway_response(GatewayError("BAD_REQUEST_PARAMETERS", 400, message))


# LocalApigwService calls ServiceErrorResponses' static methods by their module-level name.
local_apigw_service.ServiceErrorResponses = _ServiceErrorsAsGatewayResponses


class AuthorizerCache:
    """API Gateway's authorizer cache: an authorizer's answer (its context and usageIdentifierKey), per authorizer
    and identity header values."""

    def __init__(self, caching: dict[str, template.AuthorizerCaching], clock: Callable[[], float] = time.monotonic):
        self._caching = caching
        self._clock = clock
        self._entries: dict[tuple[str, ...], tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def key(self, authorizer: str, headers: dict[str, str]) -> tuple[str, ...] | None:
        """None when the authorizer is not cached (TTL 0) or an identity header is missing (never cached)."""
        caching = self._caching.get(authorizer)
        if caching is None or caching.ttl_seconds <= 0:
            return None
        by_name = {name.lower(): value for name, value in headers.items()}  # samcli title-cases header names
        values = [by_name.get(name.lower()) for name in caching.identity_headers]
        if not all(values):
            return None
        return (authorizer, *(value for value in values if value))

    def get(self, key: tuple[str, ...]) -> dict[str, Any] | None:
        with self._lock:
            expires, answer = self._entries.get(key, (0.0, {}))
            if self._clock() >= expires:
                self._entries.pop(key, None)
                return None
            return copy.deepcopy(answer)

    def put(self, key: tuple[str, ...], answer: dict[str, Any]) -> None:
        ttl_seconds = self._caching[key[0]].ttl_seconds
        with self._lock:
            self._entries[key] = (self._clock() + ttl_seconds, copy.deepcopy(answer))

    def flush(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass(frozen=True)
class Plan:
    """A usage plan's limits on each API key in it: a bucket of `burst_limit` requests refilled at `rate_limit` a
    second, and at most `daily_quota` requests a day (UTC; None: no quota)."""

    name: str
    rate_limit: float
    burst_limit: int
    daily_quota: int | None = None


class UsagePlanLimits:
    """API Gateway's usage plans, for a method that requires an API key: the key the authorizer names
    (usageIdentifierKey) must be in a plan (else INVALID_API_KEY, 403), whose throttle (THROTTLED, 429) and quota
    (QUOTA_EXCEEDED, 429) count that key's requests on their own. `plan_of` finds the plan of a key's value."""

    def __init__(
        self,
        plan_of: Callable[[str], Plan | None],
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ):
        self._plan_of = plan_of
        self._clock = clock
        self._today = today
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # (key, plan) -> (tokens, when counted)
        self._used: dict[tuple[str, date], int] = {}  # (key, day) -> requests counted
        self._lock = threading.Lock()

    def check(self, usage_key: str | None) -> None:
        """Count one request of the API key `usage_key` now, or raise API Gateway's refusal."""
        plan = self._plan_of(usage_key) if usage_key else None
        if usage_key is None or plan is None:
            raise GatewayError("INVALID_API_KEY", 403, "Forbidden")
        now, today = self._clock(), self._today()
        with self._lock:
            tokens, counted = self._buckets.get((usage_key, plan.name), (float(plan.burst_limit), now))
            tokens = min(float(plan.burst_limit), tokens + (now - counted) * plan.rate_limit)
            self._buckets[usage_key, plan.name] = (tokens if tokens < 1 else tokens - 1, now)
            if tokens < 1:
                raise GatewayError("THROTTLED", 429, "Too Many Requests")
            used = self._used.get((usage_key, today), 0)
            if plan.daily_quota is not None and used >= plan.daily_quota:
                raise GatewayError("QUOTA_EXCEEDED", 429, "Limit Exceeded")
            self._used[usage_key, today] = used + 1


class MotoUsagePlans:
    """The stage's API keys and usage plans, kept by moto's API Gateway at `endpoint`: the dev server answers
    API Gateway's management API for them by forwarding it there (`forward`), and finds a key's plan there."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint

    @functools.cached_property
    def _client(self) -> Any:
        import boto3

        from local.aws import FAKE_CREDENTIALS
        from local.lambda_runtime import REGION

        return boto3.client(
            "apigateway",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def plan_of(self, usage_key: str) -> Plan | None:
        """The plan holding the enabled API key whose value is `usage_key`, as API Gateway matches it."""
        keys = self._client.get_api_keys(includeValues=True)["items"]
        key_id = next((key["id"] for key in keys if key.get("value") == usage_key and key.get("enabled")), None)
        plans = self._client.get_usage_plans(keyId=key_id)["items"] if key_id else []
        if not plans:
            return None
        throttle, quota = plans[0].get("throttle", {}), plans[0].get("quota", {})
        return Plan(plans[0]["name"], float(throttle["rateLimit"]), int(throttle["burstLimit"]), quota.get("limit"))

    def forward(self, **_path: str) -> Response:
        """This management API request, answered by moto (the functions' AWS_ENDPOINT_URL_API_GATEWAY is here)."""
        headers = {name: value for name, value in request.headers.items() if name.lower() != "host"}
        answer = requests.request(
            request.method,
            self.endpoint + request.full_path.rstrip("?"),
            data=request.get_data(),
            headers=headers,
            timeout=30,
        )
        return Response(answer.content, status=answer.status_code, content_type=answer.headers.get("Content-Type"))


def request_id() -> str:
    """One id per HTTP request, shared by the authorizer's and the route's events."""
    if "request_id" not in g:
        g.request_id = str(uuid.uuid4())
    return str(g.request_id)


def build_api(parameters: dict[str, str]) -> Api:
    """The Api (routes, stage, authorizers) exactly as `sam local start-api` builds it from template.yaml."""
    stacks, _ = SamLocalStackProvider.get_stacks(
        str(template.TEMPLATE), parameter_overrides=parameters, language_extensions_enabled=True
    )
    return ApiProvider(stacks, cwd=str(template.ROOT)).api


# The samcli internals LocalApiGateway relies on: the LocalApigwService methods it overrides (samcli calls them, and
# the overrides call samcli's back) and the attributes samcli sets that it reads. tests/unit/test_samcli_internals.py
# checks them against the installed aws-sam-cli, so that an upgrade that changes one fails a test, not `make run`.
SAMCLI_OVERRIDDEN_METHODS = (
    "create",
    "_construct_error_handling",
    "_generate_lambda_event",
    "_invoke_lambda_function",
    "_invoke_parse_lambda_authorizer",
)
SAMCLI_ATTRIBUTES = ("_app", "api", "lambda_runner", "stderr")


class LocalApiGateway(LocalApigwService):  # type: ignore[misc]  # samcli ships no type hints
    """LocalApigwService, closer to API Gateway (see the module docstring)."""

    authorizer_cache: AuthorizerCache  # set by create()
    usage_plan_limits: UsagePlanLimits | None = None  # None: no usage plan counts (stand-in functions, tests)

    def create(self) -> None:
        self.authorizer_cache = AuthorizerCache(template.authorizer_caching())
        super().create()
        self._app.extensions[_EXTENSION] = GatewayResponses.from_template()
        self._app.config["STAGE"] = self.api.stage_name or ""
        self._app.after_request(_add_request_id_header)
        self._app.before_request(_refuse_payloads_over_the_quota)
        self._app.config["MAX_CONTENT_LENGTH"] = MAX_PAYLOAD_BYTES  # a body sent without Content-Length
        self._app.add_url_rule(
            "/restapis/<api_id>/stages/<stage>/cache/authorizers",
            "flush_stage_authorizers_cache",
            self._flush_authorizers_cache,
            methods=["DELETE"],
        )
        openapi.add_docs_routes(self._app)

    def keep_usage_plans(self, plans: MotoUsagePlans) -> None:
        """Usage plans counted on every method but the webhooks (template: ApiKeyRequired), kept in moto, where
        the management API's calls about them (API keys, plans and their keys) are forwarded."""
        self.usage_plan_limits = UsagePlanLimits(plans.plan_of)
        for resource in _FORWARDED_TO_MOTO:
            for rule in (resource, f"{resource}/<path:path>"):
                self._app.add_url_rule(
                    rule, f"forward {rule}", plans.forward, methods=["GET", "POST", "PATCH", "DELETE"]
                )  # /docs and /openapi.json: not API Gateway's, a local convenience

    @property
    def app(self) -> Any:
        """The Flask (WSGI) application, once created."""
        return self._app

    def _flush_authorizers_cache(self, api_id: str, stage: str) -> Response:
        """API Gateway's FlushStageAuthorizersCache for this one API: 202, or its 404 for another stage."""
        if stage != self.api.stage_name:
            body = {"message": f"Invalid stage identifier specified: {api_id}/{stage}"}
            return Response(json.dumps(body), status=404, content_type="application/json")
        self.authorizer_cache.flush()
        return Response(status=202)

    def _construct_error_handling(self) -> None:
        super()._construct_error_handling()
        self._app.register_error_handler(GatewayError, gateway_response)
        self._app.register_error_handler(RequestEntityTooLarge, _too_large)

    def _generate_lambda_event(self, flask_request: Any, route: Any, method: str, endpoint: str) -> dict[str, Any]:
        event: dict[str, Any]
        try:
            event = super()._generate_lambda_event(flask_request, route, method, endpoint)
        except UnicodeDecodeError:
            # samcli decodes a text body as UTF-8 and fails the request (502) when it cannot. Such a body travels
            # as a binary one does, base64-encoded: the function sees the client's bytes and refuses them (422).
            event = construct_v1_event(
                flask_request,
                self.port,
                binary_types=["*/*"],
                stage_name=self.api.stage_name,
                stage_variables=self.api.stage_variables,
                operation_name=route.operation_name,
                api_type=route.event_type,
            )
        now = datetime.now(UTC)
        context = event.setdefault("requestContext", {})
        context["requestId"] = request_id()
        context["extendedRequestId"] = request_id()
        context["requestTimeEpoch"] = int(now.timestamp() * 1000)
        context["requestTime"] = now.strftime("%d/%b/%Y:%H:%M:%S +0000")
        return event

    def invoke_function(self, function_name: str, event: dict[str, Any]) -> Any:
        """Invoke a function that no route serves (a stream consumer); its result, parsed."""
        return json.loads(self._invoke_lambda_function(function_name, event))

    def _invoke_lambda_function(
        self, lambda_function_name: str, event: dict[str, Any], tenant_id: str | None = None
    ) -> str | bytes:
        """samcli's, but keeping the function's error message (the authorizer's "Unauthorized" means 401)."""
        with StringIO() as stdout:
            self.lambda_runner.invoke(
                lambda_function_name,
                json.dumps(event, sort_keys=True),
                stdout=StreamWriter(stdout, auto_flush=True),
                stderr=self.stderr,
                tenant_id=tenant_id,
            )
            output: str | bytes
            output, is_error = LambdaOutputParser.get_lambda_output(stdout)
        if has_request_context():
            g.lambda_output = output  # the authorizer's usageIdentifierKey, which samcli does not keep
        if is_error:
            raise FunctionError(str(json.loads(output).get("errorMessage", "")))
        return output

    def _invoke_parse_lambda_authorizer(
        self, lambda_authorizer: Any, auth_lambda_event: dict[str, Any], route_lambda_event: dict[str, Any], route: Any
    ) -> None:
        key = self.authorizer_cache.key(lambda_authorizer.authorizer_name, auth_lambda_event.get("headers") or {})
        answer = self.authorizer_cache.get(key) if key else None
        if answer is None:
            self._authorize(lambda_authorizer, auth_lambda_event, route_lambda_event, route)
            answer = {
                "context": route_lambda_event["requestContext"]["authorizer"],
                "usageIdentifierKey": json.loads(g.lambda_output).get("usageIdentifierKey"),
            }
            if key:
                self.authorizer_cache.put(key, answer)
        route_lambda_event.setdefault("requestContext", {})["authorizer"] = answer["context"]
        if self.usage_plan_limits is not None:
            self.usage_plan_limits.check(answer["usageIdentifierKey"])

    def _authorize(
        self, lambda_authorizer: Any, auth_lambda_event: dict[str, Any], route_lambda_event: dict[str, Any], route: Any
    ) -> None:
        try:
            super()._invoke_parse_lambda_authorizer(lambda_authorizer, auth_lambda_event, route_lambda_event, route)
        except FunctionError as error:
            if error.error_message == _UNAUTHORIZED_MESSAGE:
                raise GatewayError("UNAUTHORIZED", 401, _UNAUTHORIZED_MESSAGE) from error
            raise GatewayError("AUTHORIZER_FAILURE", 500, "Authorizer error") from error
        except (FunctionNotFound, InvalidLambdaAuthorizerResponse) as error:
            raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR", 500, "Authorizer configuration error") from error


def _too_large(_: RequestEntityTooLarge | None = None) -> Response:
    response = gateway_response(GatewayError("REQUEST_TOO_LARGE", 413, _TOO_LARGE_MESSAGE))
    response.headers["Connection"] = "close"  # the body is left unread on the connection
    return response


def _refuse_payloads_over_the_quota() -> Response | None:
    too_large = (request.content_length or 0) > MAX_PAYLOAD_BYTES
    return _too_large() if too_large else None


def _add_request_id_header(response: Response) -> Response:
    response.headers["x-amzn-RequestId"] = request_id()
    return response
