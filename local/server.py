"""`make run`: the API on http://127.0.0.1:$PORT without AWS, docker or Twilio (`python -m local.server`).

SAM's API Gateway emulator (routes and authorizer from template.yaml) invokes the functions in worker processes
(`local.lambda_runner`, a pool per function, like Lambda's execution environments);
DynamoDB and Secrets Manager are a moto server, Twilio is the local emulator. `DevServer` is the same thing
for tests: `DevServer().start()` (on free ports), `.url`, `.twilio`, `.stop()`.

Settings by environment: PORT (3000; moto listens on PORT+1 and the Twilio emulator on PORT+2, where
local/sam-local-env.json points `sam local invoke`; PORT=0 takes free ports), SEED_FILE (local/seed.json),
TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN (the emulator's account), PUBLIC_BASE_URL (http://127.0.0.1:$PORT),
TWILIO_API_BASE_URL (use a Twilio emulator that is already running instead of starting one),
RECONCILE_EVERY_SECONDS (60; 0 = never): how often the scheduled functions (the reconciler) run, as EventBridge
runs them on AWS. `POST /_local/scheduled/<LogicalId>` runs one at once (`make reconcile`); not API Gateway's.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import signal
import sys
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from local import regulatory, streams, template
from local.aws import FAKE_CREDENTIALS, LocalAws
from local.lambda_runtime import REGION, put_layer_on_path
from robotappel_admin.stage import local_stage_file

if TYPE_CHECKING:
    from flask import Response
    from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler

    from local.gateway import LocalApiGateway
    from local.twilio_emulator import TwilioEmulator

LOG = logging.getLogger(__name__)
ACCESS_LOG = logging.getLogger("local.api")
HOST = "127.0.0.1"
DEFAULT_PORT = 3000
DEFAULT_SCHEDULE_SECONDS = 60.0
SCHEDULED_PATH = "/_local/scheduled/<logical_id>"
AWS_PORT_OFFSET = 1
TWILIO_PORT_OFFSET = 2
DEFAULT_SEED_FILE = Path(__file__).with_name("seed.json")
# Fixed defaults, so that a restarted server keeps signing webhooks with the same credentials.
DEFAULT_TWILIO_ACCOUNT_SID = "AC" + hashlib.sha256(b"robotappel-local-account").hexdigest()[:32]
DEFAULT_TWILIO_AUTH_TOKEN = hashlib.sha256(b"robotappel-local-auth-token").hexdigest()[:32]


@dataclass(frozen=True)
class SeedOrg:
    org_id: str
    api_key: str = field(repr=False)
    role: str
    tokens: int


def load_seed(path: Path) -> list[SeedOrg]:
    """`{"orgs": [{"orgId", "apiKey", "role", "tokens"}]}`"""
    document = json.loads(path.read_text())
    return [
        SeedOrg(org_id=org["orgId"], api_key=org["apiKey"], role=org.get("role", "member"), tokens=org["tokens"])
        for org in document["orgs"]
    ]


@dataclass
class DevServer:
    """Everything `make run` serves, startable on any port and stoppable, in this process."""

    seed_file: Path = DEFAULT_SEED_FILE
    twilio_account_sid: str = DEFAULT_TWILIO_ACCOUNT_SID
    twilio_auth_token: str = field(default=DEFAULT_TWILIO_AUTH_TOKEN, repr=False)
    public_base_url: str | None = None
    twilio_api_base_url: str | None = None
    host: str = HOST
    api_port: int = 0  # 0: any free one, and so for moto and the Twilio emulator
    orgs: list[SeedOrg] = field(default_factory=list)
    subaccounts: dict[str, str] = field(default_factory=dict)  # the seed's orgs' Twilio subaccount SIDs, by org id
    twilio: TwilioEmulator | None = None
    aws: LocalAws = field(default_factory=LocalAws)
    gateway: LocalApiGateway | None = None
    _http: BaseWSGIServer | None = None
    _thread: threading.Thread | None = None
    _saved_environ: dict[str, str] | None = None
    schedule_seconds: float = 0  # 0: the scheduled functions run only when asked (POST /_local/scheduled/...)
    _deliveries: list[Any] = field(default_factory=list)
    _scheduler: threading.Thread | None = None
    _stream_poller: threading.Thread | None = None
    _in_flight: int = 0  # requests being served: the stream poller waits for none
    _in_flight_lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def from_environment(cls) -> DevServer:
        return cls(
            seed_file=Path(os.environ.get("SEED_FILE") or DEFAULT_SEED_FILE),
            twilio_account_sid=os.environ.get("TWILIO_ACCOUNT_SID") or DEFAULT_TWILIO_ACCOUNT_SID,
            twilio_auth_token=os.environ.get("TWILIO_AUTH_TOKEN") or DEFAULT_TWILIO_AUTH_TOKEN,
            public_base_url=os.environ.get("PUBLIC_BASE_URL") or None,
            twilio_api_base_url=os.environ.get("TWILIO_API_BASE_URL") or None,
            api_port=int(os.environ.get("PORT") or DEFAULT_PORT),
            schedule_seconds=float(os.environ.get("RECONCILE_EVERY_SECONDS") or DEFAULT_SCHEDULE_SECONDS),
        )

    def _beside_the_api(self, offset: int) -> int:
        return self.api_port + offset if self.api_port else 0

    @property
    def port(self) -> int:
        if self._http is None:
            raise RuntimeError("The server is not started")
        return int(self._http.server_port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def twilio_base_url(self) -> str:
        if self.twilio is not None:
            return self.twilio.base_url
        return self.twilio_api_base_url or ""

    def start(self) -> DevServer:
        self.orgs = load_seed(self.seed_file)
        try:
            self._start_twilio()
            credentials = {"accountSid": self.twilio_account_sid, "authToken": self.twilio_auth_token}
            self.aws.start(credentials, port=self._beside_the_api(AWS_PORT_OFFSET))
            self._bind(self.api_port)
            self._configure_environment()
            assert self._http is not None  # bound by _bind
            self._thread = threading.Thread(target=self._http.serve_forever, name="api-gateway", daemon=True)
            self._thread.start()
            # Once serving: onboarding creates each org's API key through API Gateway's management API, here.
            self._seed()
            self._make_regulatory_documents()
            self._deliver_streams()  # the seed's credits are in the ledger before anything else runs
        except BaseException:
            self.stop()
            raise
        self._stream_poller = streams.poll(self._deliveries, self._stopping, idle=lambda: not self._in_flight)
        if self.schedule_seconds > 0:
            self._scheduler = threading.Thread(target=self._run_on_schedule, name="scheduler", daemon=True)
            self._scheduler.start()
        return self

    def run_scheduled(self, logical_id: str, event: dict[str, Any] | None = None) -> Any:
        """One run of a scheduled function, as EventBridge invokes it (with `event`, {} by default); what it wrote
        reaches the stream consumers."""
        if self.gateway is None:
            raise RuntimeError("The server is not started")
        result = self.gateway.invoke_function(logical_id, event or {})
        self._deliver_streams()
        return result

    def _run_on_schedule(self) -> None:
        while not self._stopping.wait(self.schedule_seconds):
            for logical_id in template.scheduled_functions():
                try:
                    LOG.info("%s (scheduled): %s", logical_id, json.dumps(self.run_scheduled(logical_id)))
                except Exception:
                    LOG.exception("%s (scheduled) failed; it runs again in %ss", logical_id, self.schedule_seconds)

    def stop(self) -> None:
        self._stopping.set()
        for thread in (self._scheduler, self._stream_poller):
            if thread is not None:
                thread.join()
        self._scheduler = self._stream_poller = None
        if self._http is not None:
            if self._thread is not None:
                self._http.shutdown()
                self._thread.join()
            self._http.server_close()
        self._http = self._thread = None
        if self.gateway is not None:
            self.gateway.lambda_runner.stop()  # the functions' worker processes
            self.gateway = None
        if self.twilio is not None:
            self.twilio.stop()
            self.twilio = None
        self.aws.stop()
        if self._saved_environ is not None:
            os.environ.clear()
            os.environ.update(self._saved_environ)
            self._saved_environ = None

    def _start_twilio(self) -> None:
        if self.twilio_api_base_url:
            return
        from local.twilio_emulator import TwilioEmulator

        self.twilio = TwilioEmulator(
            account_sid=self.twilio_account_sid,
            auth_token=self.twilio_auth_token,
            host=self.host,
            port=self._beside_the_api(TWILIO_PORT_OFFSET),
        ).start()

    def _bind(self, port: int) -> None:
        # samcli is imported here, not at module level: it is the heavy part of the start-up.
        from werkzeug.serving import make_server

        from local.gateway import LocalApiGateway, MotoUsagePlans, build_api
        from local.lambda_runner import WorkerLambdaRunner, function_configs

        api = build_api(self._parameters(public_base_url=""))
        self.gateway = LocalApiGateway(
            api=api, lambda_runner=WorkerLambdaRunner(function_configs()), port=port, host=self.host
        )
        self.gateway.create()
        self.gateway.keep_usage_plans(MotoUsagePlans(self.aws.endpoint))
        self._deliver_streams_after_requests(self.gateway)
        self._add_scheduled_route(self.gateway)
        self._http = make_server(
            self.host, port, self.gateway.app, threaded=True, request_handler=_access_log_handler()
        )
        # The bound port (port 0 = any free one) is what events carry in X-Forwarded-Port.
        self.gateway.port = self.port

    def _deliver_streams_after_requests(self, gateway: LocalApiGateway) -> None:
        """Lambda's stream event source mappings (also polled, `streams.poll`): the consumers get what a request
        wrote before it is answered."""
        from flask import g

        self._deliveries = [
            streams.StreamDelivery(
                self.aws.client("dynamodb"),
                self.aws.client("dynamodbstreams"),
                self.aws.table_names[consumer.table],
                functools.partial(gateway.invoke_function, consumer.function),
                consumer.batch_size,
            )
            for consumer in template.stream_consumers()
        ]

        def deliver(response: Response) -> Response:
            self._deliver_streams()
            return response

        def arrived() -> None:
            with self._in_flight_lock:
                self._in_flight += 1
            g.in_flight = True  # a request refused by an earlier before_request (413) was never counted

        def left(_: BaseException | None) -> None:
            if g.pop("in_flight", False):
                with self._in_flight_lock:
                    self._in_flight -= 1

        gateway.app.before_request(arrived)
        gateway.app.after_request(deliver)
        gateway.app.teardown_request(left)

    def _deliver_streams(self) -> None:
        for delivery in self._deliveries:
            delivery.deliver()

    def _add_scheduled_route(self, gateway: LocalApiGateway) -> None:
        """POST /_local/scheduled/<LogicalId>: a scheduled function run now (`make reconcile`); local only."""
        from flask import jsonify, request

        def run_now(logical_id: str) -> Any:
            if logical_id not in template.scheduled_functions():
                return jsonify(error="not_found", message=f"No scheduled function {logical_id}."), 404
            return jsonify(self.run_scheduled(logical_id, request.get_json(silent=True)))

        gateway.app.add_url_rule(SCHEDULED_PATH, "run_scheduled", run_now, methods=["POST"])

    def _parameters(self, public_base_url: str) -> dict[str, str]:
        return {
            **template.parameter_defaults(),
            "TwilioSecretArn": self.aws.twilio_secret_arn,
            "PublicBaseUrl": public_base_url,
        }

    def function_environment(self) -> dict[str, str]:
        """The template's function environment with local values, plus what AWS's runtime would provide."""
        public_base_url = (self.public_base_url or self.url).rstrip("/")
        references = {**self._parameters(public_base_url), **self.aws.table_names}
        environment: dict[str, str] = {}
        for function in template.functions().values():
            for name, value in template.resolve_environment(function, references).items():
                if environment.get(name, value) != value:
                    LOG.warning("%s differs between functions; the workers all see %r", name, environment[name])
                environment.setdefault(name, value)
        return {
            **environment,
            **self.aws.environment(),
            # The emulator serves both of Twilio's hosts.
            "TWILIO_API_BASE_URL": self.twilio_base_url,
            "TWILIO_NUMBERS_BASE_URL": self.twilio_base_url,
            # API Gateway's management API: this gateway answers FlushStageAuthorizersCache and forwards the calls
            # about API keys and usage plans to moto (local.gateway).
            "AWS_ENDPOINT_URL_API_GATEWAY": self.url,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "SAM_CLI_TELEMETRY": "0",
        }

    def _configure_environment(self) -> None:
        """Function workers start with this process's environment (on first use); the seeding uses it too."""
        self._saved_environ = dict(os.environ)
        os.environ.update(self.function_environment())
        put_layer_on_path()
        _clear_layer_caches()

    def _seed(self) -> None:
        """The seed's orgs, onboarded as an operator onboards one (`python -m robotappel_admin onboard`), without
        the INFO lines an operator's onboarding logs: the banner says what the seed made."""
        from robotappel.observability import logger
        from robotappel_admin.onboarding import onboard  # needs the environment set above

        level = logger.log_level
        logger.setLevel(logging.WARNING)
        try:
            for org in self.orgs:
                # An admin's org is an operator org: only those hold admin keys.
                operator = org.role == "admin"
                onboard(org.org_id, org.tokens, org.role, request_id="seed", api_key=org.api_key, operator=operator)
        finally:
            logger.setLevel(level)

    def _make_regulatory_documents(self) -> None:
        """Each seeded org's French documents, in the subaccount its onboarding opened, when the emulator is this
        server's (one given by TWILIO_API_BASE_URL is its owner's to fill)."""
        from robotappel.tenants.subaccounts import account_of  # needs the environment set above

        self.subaccounts = {org.org_id: account_of(org.org_id) for org in self.orgs}
        if self.twilio is not None:
            for org_id, account_sid in self.subaccounts.items():
                regulatory.make(self.twilio, org_id, account_sid)

    def stage_environment(self) -> dict[str, str]:
        """What the operators' tool needs to work on this server (`--local`): its tables, moto's endpoint, this
        gateway's, for API Gateway's management API (usage plans, the authorizer cache), and the Twilio emulator with
        the secret of its credentials (an org it onboards gets its subaccount there)."""
        environment = self.function_environment()
        names = (
            "NUMBERS_TABLE",
            "TOKENS_TABLE",
            "API_KEYS_TABLE",
            "IDEMPOTENCY_TABLE",
            "TWILIO_SECRET_ID",
            "TWILIO_API_BASE_URL",
            "TWILIO_NUMBERS_BASE_URL",
            "AWS_ENDPOINT_URL_DYNAMODB",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            "AWS_ENDPOINT_URL_API_GATEWAY",
            "AWS_REGION",
            "STAGE",
        )
        return {name: environment[name] for name in names} | {"AWS_DEFAULT_REGION": REGION, **FAKE_CREDENTIALS}

    def banner(self) -> str:
        curl_key = self.orgs[0].api_key if self.orgs else "<api key>"
        lines = [
            "RobotAppel phone numbers: local API (SAM's API Gateway emulator, functions in worker processes)",
            f"  API                       {self.url}",
            f"  Swagger UI                {self.url}/docs   (the OpenAPI document: {self.url}/openapi.json)",
            f"  Public base URL (webhooks) {os.environ.get('PUBLIC_BASE_URL', '')}",
            f"  DynamoDB + Secrets Manager {self.aws.endpoint} (moto)",
            f"  Twilio emulator           {self.twilio_base_url or 'NOT RUNNING'}",
            f"    TWILIO_ACCOUNT_SID={self.twilio_account_sid}",
            f"    TWILIO_AUTH_TOKEN={self.twilio_auth_token}",
            f"  Organisations (seed: {self.seed_file}); more with .venv/bin/python -m robotappel_admin --local --help",
            *(
                f"    {org.org_id:<14} {org.role:<7} key {org.api_key:<14} {org.tokens} tokens, "
                f"Twilio subaccount {self.subaccounts.get(org.org_id, '-')}"
                for org in self.orgs
            ),
            *(regulatory.banner_lines(self.subaccounts) if self.twilio is not None else []),
            "  Routes",
            *self._route_lines(),
            "",
            f"  curl -H 'Authorization: Bearer {curl_key}' {self.url}/tokens/balance",
            "",
            "Ctrl-C stops.",
        ]
        return "\n".join(lines)

    def _route_lines(self) -> list[str]:
        functions = template.functions()
        lines = []
        for route in sorted(template.routes(), key=lambda route: (route.path, route.method)):
            function = functions[route.function]
            missing = "" if function.code_dir.is_dir() else "   (not written yet: 502)"
            auth = "" if route.authorized else "   (no API key: webhook)"
            lines.append(f"    {route.method:<6} {route.path}{auth}{missing}")
        return lines


def _access_log_handler() -> type[WSGIRequestHandler]:
    """Request lines of the API on this module's logger (werkzeug's also carries moto's, which stays quiet); not
    those of API Gateway's management API (the functions' calls about usage plans, the authorizer cache), which are
    not the API's requests."""
    from werkzeug.serving import WSGIRequestHandler

    from local.gateway import MANAGEMENT_API_PATHS

    class AccessLogHandler(WSGIRequestHandler):
        protocol_version = "HTTP/1.1"

        def log(self, type: str, message: str, *args: Any) -> None:  # werkzeug's signature
            if type != "error" and self.path.startswith(MANAGEMENT_API_PATHS):
                return
            ACCESS_LOG.log(logging.ERROR if type == "error" else logging.INFO, message, *args)

    return AccessLogHandler


def _clear_layer_caches() -> None:
    """Settings and clients cached by an earlier start in this process would still point at the old servers."""
    for module_name, function_name in (
        ("robotappel.config", "get_settings"),
        ("robotappel.dal.dynamodb", "client"),
        ("robotappel.dal.apigateway", "_client"),
        ("robotappel.twilio.client", "get_twilio_client"),
    ):
        module: Any = sys.modules.get(module_name)
        cached = getattr(module, function_name, None)
        if cached is not None and hasattr(cached, "cache_clear"):
            cached.cache_clear()
    if "aws_lambda_powertools.utilities.parameters" in sys.modules:
        from aws_lambda_powertools.utilities import parameters

        parameters.clear_caches()  # type: ignore[no-untyped-call]


def configure_logging(level: int) -> None:
    """Our lines at `level`; the libraries' only when they go wrong."""
    logging.basicConfig(level=level, format="%(message)s")
    for noisy in ("samcli", "werkzeug", "botocore", "boto3", "twilio"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    # Powertools warns on every request of a route that publishes no metric; that is normal here.
    warnings.filterwarnings("ignore", message="No application metrics to publish")


def main() -> None:
    configure_logging(logging.INFO)
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        LOG.info("%s: stopping", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    server = DevServer.from_environment().start()
    stage_file = local_stage_file()
    stage_file.parent.mkdir(parents=True, exist_ok=True)
    stage_file.write_text(json.dumps(server.stage_environment()))
    print(server.banner(), flush=True)
    try:
        while not stopping.wait(timeout=1):
            pass
    finally:
        stage_file.unlink(missing_ok=True)
        server.stop()


if __name__ == "__main__":
    main()
