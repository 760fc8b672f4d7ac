"""The emulated Twilio REST API: routing, state and the behaviour of each resource (thread-safe)."""

import functools
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from local.twilio_emulator import numbers, regulations, resources
from local.twilio_emulator.callbacks import post_signed

# Twilio's test-credential magic numbers (https://www.twilio.com/docs/iam/test-credentials).
MAGIC_UNAVAILABLE = "+15005550000"
MAGIC_INVALID = "+15005550001"
MAGIC_AVAILABLE = "+15005550006"
MAGIC_NO_NUMBERS_AREA_CODE = "533"
# Twilio refuses a callback URL that is not a fully qualified http(s) URL, or longer than this.
MAX_URL_LENGTH = 4000
# The URL parameters Twilio checks, and the error each is refused with.
URL_ERRORS = {"StatusCallback": 21609, "VoiceUrl": 21502, "VoiceFallbackUrl": 21502}


class RecordedRequest(NamedTuple):
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    status: int
    response_json: Any


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = None
    drop_connection: bool = False
    # What Twilio does before its answer reaches the client (outside the API's lock): a callback that beats it.
    before_answering: Callable[[], None] | None = None


class TwilioError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.reply = Reply(status, resources.error_body(status, code, message))


@dataclass
class Fault:
    method: str
    path_pattern: re.Pattern[str]
    status: int | None
    code: int
    message: str
    delay: float
    remaining: int
    drop_connection: bool
    processed: bool = False  # the request is carried out first: only its answer is lost

    def matches(self, method: str, path: str) -> bool:
        return self.remaining > 0 and self.method == method and self.path_pattern.search(path) is not None


Handler = Callable[["TwilioApi", Request], Reply]
_ACCOUNT = r"^/2010-04-01/Accounts/(?P<account>[^/]+)"
_SID = r"(?P<sid>[A-Za-z0-9]+)"


class TwilioApi:
    def __init__(self, account_sid: str, auth_token: str, callback_delay: float) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.callback_delay = callback_delay
        # True: the verification callback is delivered before the validation request is answered (a slow answer,
        # a fast callback), so that it arrives while the client has not recorded the answer yet.
        self.calls_back_before_answering = False
        self.lock = threading.RLock()
        self.generation = 0
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.incoming: dict[str, dict[str, Any]] = {}
            self.caller_ids: dict[str, dict[str, Any]] = {}
            self.bundles: dict[str, dict[str, Any]] = {}
            self.faults: list[Fault] = []
            self.log: list[RecordedRequest] = []
            self.generation += 1

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            fault = next((f for f in self.faults if f.matches(method, path)), None)
            if fault is not None:
                fault.remaining -= 1
            return fault

    def record(self, request: Request, reply: Reply) -> None:
        with self.lock:
            self.log.append(
                RecordedRequest(request.method, request.path, request.query, request.form, reply.status, reply.body)
            )

    def handle(self, request: Request) -> Reply:
        for method, pattern, handler in _ROUTES:
            match = pattern.match(request.path)
            if match and method == request.method:
                if match.groupdict().get("account", self.account_sid) != self.account_sid:
                    break
                try:
                    with self.lock:
                        return handler(self, _with_params(request, match.groupdict()))
                except TwilioError as exc:
                    return exc.reply
                except ValueError:
                    return TwilioError(400, 20001, "A parameter has an invalid value.").reply
        return not_found(request.path).reply

    # --- OutgoingCallerIds / ValidationRequests ---

    def create_validation_request(self, request: Request) -> Reply:
        _check_urls(request.form)
        phone_number = _required(request.form, "PhoneNumber")
        if phone_number == MAGIC_INVALID or numbers.parse_valid(phone_number) is None:
            raise TwilioError(400, 21421, "The phone number is invalid.")
        if self._caller_id_by_number(phone_number) is not None:
            raise TwilioError(400, 21450, "Phone number already verified for your account.")
        friendly_name = request.form.get("FriendlyName") or phone_number
        call_sid = resources.new_sid("CA")
        verify = functools.partial(
            self._verify, self.generation, phone_number, friendly_name, call_sid, request.form.get("StatusCallback")
        )
        if not self.calls_back_before_answering:
            timer = threading.Timer(self.callback_delay, verify)
            timer.daemon = True
            timer.start()
        return Reply(
            200,
            {
                "account_sid": self.account_sid,
                "call_sid": call_sid,
                "friendly_name": friendly_name,
                "phone_number": phone_number,
                "validation_code": f"{secrets.randbelow(10**6):06d}",
            },
            before_answering=verify if self.calls_back_before_answering else None,
        )

    def list_caller_ids(self, request: Request) -> Reply:
        items = [c for c in self.caller_ids.values() if _matches_filters(c, request.query)]
        return Reply(200, resources.page(items, "outgoing_caller_ids", request.path, request.query))

    def fetch_caller_id(self, request: Request) -> Reply:
        return Reply(200, self._caller_id(request))

    def update_caller_id(self, request: Request) -> Reply:
        caller_id = self._caller_id(request)
        if "FriendlyName" in request.form:
            caller_id["friendly_name"] = request.form["FriendlyName"]
            caller_id["date_updated"] = resources.rfc2822_now()
        return Reply(200, caller_id)

    def delete_caller_id(self, request: Request) -> Reply:
        self._caller_id(request)
        del self.caller_ids[request.params["sid"]]
        return Reply(204)

    # --- AvailablePhoneNumbers ---

    def search_available_numbers(self, request: Request) -> Reply:
        country = request.params["country"]
        if not numbers.is_supported_country(country):
            raise not_found(request.path)
        area_code = request.query.get("AreaCode")
        if area_code == MAGIC_NO_NUMBERS_AREA_CODE:
            raise TwilioError(400, 21452, "No phone numbers found in area code 533.")
        found = numbers.generate(
            country,
            request.params["kind"],
            _page_size(request.query),
            area_code=area_code,
            contains=request.query.get("Contains"),
            exclude=self._owned_numbers(),
        )
        requirements = regulations.regulation_of_country(country).address_requirements
        region = request.query.get("InRegion")
        offered = [
            resources.available_number(numbers.e164(n), numbers.national_format(n), country, region, requirements)
            for n in found
        ]
        return Reply(200, resources.page(offered, "available_phone_numbers", request.path, request.query))

    # --- IncomingPhoneNumbers ---

    def buy_number(self, request: Request) -> Reply:
        _check_urls(request.form)
        phone_number = self._number_to_buy(request.form)
        regulation = regulations.regulation_of_number(phone_number)
        refusal = regulation.refusal(request.form)
        if refusal is not None:
            raise TwilioError(400, refusal.code, refusal.message)
        number = resources.incoming_number(
            self.account_sid, phone_number, request.form, regulation.address_requirements
        )
        self.incoming[number["sid"]] = number
        return Reply(201, number)

    def list_incoming_numbers(self, request: Request) -> Reply:
        items = [n for n in self.incoming.values() if _matches_filters(n, request.query)]
        return Reply(200, resources.page(items, "incoming_phone_numbers", request.path, request.query))

    def fetch_incoming_number(self, request: Request) -> Reply:
        return Reply(200, self._incoming(request))

    def update_incoming_number(self, request: Request) -> Reply:
        number = self._incoming(request)
        _check_urls(request.form)
        resources.apply_form(number, request.form)
        return Reply(200, number)

    def release_incoming_number(self, request: Request) -> Reply:
        self._incoming(request)
        del self.incoming[request.params["sid"]]
        return Reply(204)

    # --- Numbers v2: RegulatoryCompliance/Bundles ---

    def fetch_bundle(self, request: Request) -> Reply:
        sid = request.params["sid"]
        status = regulations.bundle_status(sid)
        if status is None:
            raise not_found(request.path)
        return Reply(200, self.bundles.setdefault(sid, resources.bundle(self.account_sid, sid, status)))

    # --- helpers ---

    def _number_to_buy(self, form: dict[str, str]) -> str:
        if "PhoneNumber" not in form and "AreaCode" not in form:
            raise TwilioError(400, 20001, "A 'PhoneNumber' or 'AreaCode' parameter is required.")
        if form.get("AreaCode") == MAGIC_NO_NUMBERS_AREA_CODE:
            raise TwilioError(400, 21452, "No phone numbers found in area code 533.")
        phone_number = form.get("PhoneNumber")
        if phone_number is None:
            found = numbers.generate("US", "Local", 1, area_code=form["AreaCode"], exclude=self._owned_numbers())
            if not found:
                raise TwilioError(400, 21452, f"No phone numbers found in area code {form['AreaCode']}.")
            return numbers.e164(found[0])
        if phone_number == MAGIC_UNAVAILABLE or phone_number in self._owned_numbers():
            raise TwilioError(400, 21422, f"PhoneNumber {phone_number} is not available.")
        if phone_number != MAGIC_AVAILABLE and (
            phone_number == MAGIC_INVALID or numbers.parse_valid(phone_number) is None
        ):
            raise TwilioError(400, 21421, f"PhoneNumber {phone_number} is invalid.")
        return phone_number

    def _owned_numbers(self) -> set[str]:
        return {n["phone_number"] for n in self.incoming.values()}

    def _caller_id_by_number(self, phone_number: str) -> dict[str, Any] | None:
        return next((c for c in self.caller_ids.values() if c["phone_number"] == phone_number), None)

    def _caller_id(self, request: Request) -> dict[str, Any]:
        caller_id = self.caller_ids.get(request.params["sid"])
        if caller_id is None:
            raise not_found(request.path)
        return caller_id

    def _incoming(self, request: Request) -> dict[str, Any]:
        number = self.incoming.get(request.params["sid"])
        if number is None:
            raise not_found(request.path)
        return number

    def _verify(
        self, generation: int, phone_number: str, friendly_name: str, call_sid: str, status_callback: str | None
    ) -> None:
        """The person answered the verification call; numbers ending in 0000 never type the right code."""
        with self.lock:
            if generation != self.generation:
                return  # the emulator was reset meanwhile: this verification belongs to a forgotten test
            succeeded = not phone_number.endswith("0000")
            params = {
                "AccountSid": self.account_sid,
                "CallSid": call_sid,
                "VerificationStatus": "success" if succeeded else "failed",
                "To": phone_number,
                "Called": phone_number,
                "PhoneNumber": phone_number,
                "ApiVersion": resources.API_VERSION,
            }
            if succeeded:
                caller_id = self._caller_id_by_number(phone_number) or resources.caller_id(
                    self.account_sid, phone_number, friendly_name
                )
                self.caller_ids[caller_id["sid"]] = caller_id
                params["OutgoingCallerIdSid"] = caller_id["sid"]
        if status_callback:
            post_signed(status_callback, params, self.auth_token)


def not_found(path: str) -> TwilioError:
    return TwilioError(404, 20404, f"The requested resource {path} was not found")


def _check_urls(form: dict[str, str]) -> None:
    """Twilio calls these URLs back (and signs them whole, path and query included): each must be absolute."""
    for name, code in URL_ERRORS.items():
        url = form.get(name)
        if url is None or url == "":
            continue
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL_LENGTH:
            raise TwilioError(400, code, f"{name} is not a valid URL: {url}")


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise TwilioError(400, 21604 if name == "PhoneNumber" else 20001, f"A '{name}' parameter is required.")
    return value


def _page_size(query: dict[str, str]) -> int:
    return min(max(int(query.get("PageSize", 20)), 1), 50)


def _matches_filters(resource: dict[str, Any], query: dict[str, str]) -> bool:
    return all(
        resource.get(field_name) == query[param]
        for param, field_name in (("PhoneNumber", "phone_number"), ("FriendlyName", "friendly_name"))
        if param in query
    )


def _with_params(request: Request, params: dict[str, str]) -> Request:
    return Request(request.method, request.path, request.query, request.form, params)


def _route(method: str, path: str, handler: Handler) -> tuple[str, re.Pattern[str], Handler]:
    return method, re.compile(_ACCOUNT + path + "$"), handler


def _numbers_route(method: str, path: str, handler: Handler) -> tuple[str, re.Pattern[str], Handler]:
    """Numbers v2 (numbers.twilio.com): no account in the path, the credentials name it."""
    return method, re.compile(r"^/v2" + path + "$"), handler


_AVAILABLE = r"/AvailablePhoneNumbers/(?P<country>[A-Z]{2})/(?P<kind>Local|Mobile|TollFree|National)\.json"
_ROUTES = [
    _route("POST", r"/OutgoingCallerIds\.json", TwilioApi.create_validation_request),
    _route("GET", r"/OutgoingCallerIds\.json", TwilioApi.list_caller_ids),
    _route("GET", rf"/OutgoingCallerIds/{_SID}\.json", TwilioApi.fetch_caller_id),
    _route("POST", rf"/OutgoingCallerIds/{_SID}\.json", TwilioApi.update_caller_id),
    _route("DELETE", rf"/OutgoingCallerIds/{_SID}\.json", TwilioApi.delete_caller_id),
    _route("GET", _AVAILABLE, TwilioApi.search_available_numbers),
    _route("POST", r"/IncomingPhoneNumbers\.json", TwilioApi.buy_number),
    _route("GET", r"/IncomingPhoneNumbers\.json", TwilioApi.list_incoming_numbers),
    _route("GET", rf"/IncomingPhoneNumbers/{_SID}\.json", TwilioApi.fetch_incoming_number),
    _route("POST", rf"/IncomingPhoneNumbers/{_SID}\.json", TwilioApi.update_incoming_number),
    _route("DELETE", rf"/IncomingPhoneNumbers/{_SID}\.json", TwilioApi.release_incoming_number),
    _numbers_route("GET", rf"/RegulatoryCompliance/Bundles/{_SID}", TwilioApi.fetch_bundle),
]
