"""The emulated Twilio REST API: routing, state and the behaviour of each resource (thread-safe)."""

import dataclasses
import functools
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from local.twilio_emulator import accounts, numbers, regulations, resources
from local.twilio_emulator.callbacks import post_signed
from local.twilio_emulator.exchange import Reply, Request, TwilioError, not_found

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
_ACCOUNTS = r"^/2010-04-01/Accounts"
_ACCOUNT = _ACCOUNTS + r"/(?P<account>[^/]+)"
_SID = r"(?P<sid>[A-Za-z0-9]+)"


class TwilioApi:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        callback_delay: float,
        max_subaccounts: int = accounts.DEFAULT_MAX_SUBACCOUNTS,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.callback_delay = callback_delay
        self.accounts = accounts.Accounts(account_sid, auth_token, max_subaccounts)
        # True: the verification callback is delivered before the validation request is answered (a slow answer,
        # a fast callback), so that it arrives while the client has not recorded the answer yet.
        self.calls_back_before_answering = False
        self.lock = threading.RLock()
        self.generation = 0
        # Twilio's Regulations are its data, not the account's: the same for the emulator's whole life.
        self.regulations = {
            regulation.sid: regulation
            for regulation in (
                regulations.Regulation(resources.new_sid("RN"), country, number_type, end_user_type)
                for country in regulations.FRENCH_REGIONS
                for number_type in regulations.NUMBER_TYPES
                for end_user_type in regulations.END_USER_TYPES
            )
        }
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.accounts.reset()
            # Each resource names its account (`account_sid`); SIDs are unique across accounts, as at Twilio.
            self.incoming: dict[str, dict[str, Any]] = {}
            self.caller_ids: dict[str, dict[str, Any]] = {}
            self.bundles: dict[str, dict[str, Any]] = {}
            self.addresses: dict[str, dict[str, Any]] = {}
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

    def handle(self, request: Request, principal: str) -> Reply:
        """`principal`: the account whose credentials the request carries. A route with an account in its path acts
        in that account; the others (Numbers v2) in the principal's."""
        for method, pattern, handler in _ROUTES:
            match = pattern.match(request.path)
            if match and method == request.method:
                params = {"account": principal} | match.groupdict()
                try:
                    with self.lock:
                        if "account" in pattern.groupindex:
                            self.accounts.check_open(principal, params["account"], request.path)
                        return handler(self, dataclasses.replace(request, params=params, principal=principal))
                except TwilioError as exc:
                    return exc.reply
                except ValueError:
                    return TwilioError(400, 20001, "A parameter has an invalid value.").reply
        return not_found(request.path).reply

    def authenticated(self, username: str, password: str) -> str | None:
        with self.lock:
            return self.accounts.authenticated(username, password)

    # --- Accounts ---

    def list_accounts(self, request: Request) -> Reply:
        items = [
            a
            for a in self.accounts.visible_to(request.principal)
            if _matches_filters(a, request.query, _ACCOUNT_FILTERS)
        ]
        return Reply(200, resources.page(items, "accounts", request.path, request.query))

    # An account's replies are copies: the requests log keeps what was answered, not what the account became.
    def create_account(self, request: Request) -> Reply:
        return Reply(201, dict(self.accounts.create(request.principal, request.form.get("FriendlyName"))))

    def fetch_account(self, request: Request) -> Reply:
        return Reply(200, dict(self.accounts.reachable(request.principal, request.params["sid"], request.path)))

    def update_account(self, request: Request) -> Reply:
        changed = self.change_account(request.principal, request.params["sid"], request.form, request.path)
        return Reply(200, dict(changed))

    def change_account(self, principal: str, sid: str, form: dict[str, str], path: str) -> dict[str, Any]:
        """FriendlyName and Status, as `principal`'s credentials may change them; a closed account's numbers are
        released ("Twilio will release all phone numbers assigned to it")."""
        account = self.accounts.update(principal, sid, form, path)
        if account["status"] == accounts.CLOSED:
            for number_sid in [k for k, n in self.incoming.items() if n["account_sid"] == sid]:
                del self.incoming[number_sid]
        return account

    # --- OutgoingCallerIds / ValidationRequests ---

    def create_validation_request(self, request: Request) -> Reply:
        _check_urls(request.form)
        account_sid = request.params["account"]
        phone_number = _required(request.form, "PhoneNumber")
        if phone_number == MAGIC_INVALID or numbers.parse_valid(phone_number) is None:
            raise TwilioError(400, 21421, "The phone number is invalid.")
        if self._caller_id_by_number(account_sid, phone_number) is not None:
            raise TwilioError(400, 21450, "Phone number already verified for your account.")
        friendly_name = request.form.get("FriendlyName") or phone_number
        call_sid = resources.new_sid("CA")
        verify = functools.partial(
            self._verify,
            self.generation,
            phone_number,
            friendly_name,
            call_sid,
            request.form.get("StatusCallback"),
            account_sid=account_sid,  # a keyword: tests/model's stand-in Timer reads the five positional arguments
        )
        if not self.calls_back_before_answering:
            timer = threading.Timer(self.callback_delay, verify)
            timer.daemon = True
            timer.start()
        return Reply(
            200,
            {
                "account_sid": account_sid,
                "call_sid": call_sid,
                "friendly_name": friendly_name,
                "phone_number": phone_number,
                "validation_code": f"{secrets.randbelow(10**6):06d}",
            },
            before_answering=verify if self.calls_back_before_answering else None,
        )

    def list_caller_ids(self, request: Request) -> Reply:
        items = [c for c in _of_account(self.caller_ids, request) if _matches_filters(c, request.query)]
        return Reply(200, resources.page(items, "outgoing_caller_ids", request.path, request.query))

    def fetch_caller_id(self, request: Request) -> Reply:
        return Reply(200, _by_sid(self.caller_ids, request))

    def update_caller_id(self, request: Request) -> Reply:
        caller_id = _by_sid(self.caller_ids, request)
        if "FriendlyName" in request.form:
            caller_id["friendly_name"] = request.form["FriendlyName"]
            caller_id["date_updated"] = resources.rfc2822_now()
        return Reply(200, caller_id)

    def delete_caller_id(self, request: Request) -> Reply:
        _by_sid(self.caller_ids, request)
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
        requirements = regulations.address_requirements(country, request.params["kind"])
        region = request.query.get("InRegion")
        offered = [
            resources.available_number(numbers.e164(n), numbers.national_format(n), country, region, requirements)
            for n in found
        ]
        return Reply(200, resources.page(offered, "available_phone_numbers", request.path, request.query))

    # --- IncomingPhoneNumbers ---

    def buy_number(self, request: Request) -> Reply:
        _check_urls(request.form)
        account_sid = request.params["account"]
        phone_number = self._number_to_buy(request.form)
        regulation = self._regulation_of_number(phone_number)
        refusal = self._regulatory_refusal(account_sid, phone_number, regulation, request.form)
        if refusal is not None:
            raise TwilioError(400, refusal.code, refusal.message)
        requirements = regulation.address_requirements if regulation else "none"
        number = resources.incoming_number(account_sid, phone_number, request.form, requirements)
        self.incoming[number["sid"]] = number
        return Reply(201, number)

    def list_incoming_numbers(self, request: Request) -> Reply:
        items = [n for n in _of_account(self.incoming, request) if _matches_filters(n, request.query)]
        return Reply(200, resources.page(items, "incoming_phone_numbers", request.path, request.query))

    def fetch_incoming_number(self, request: Request) -> Reply:
        return Reply(200, _by_sid(self.incoming, request))

    def update_incoming_number(self, request: Request) -> Reply:
        number = _by_sid(self.incoming, request)
        _check_urls(request.form)
        resources.apply_form(number, request.form)
        return Reply(200, number)

    def release_incoming_number(self, request: Request) -> Reply:
        _by_sid(self.incoming, request)
        del self.incoming[request.params["sid"]]
        return Reply(204)

    # --- Numbers v2: RegulatoryCompliance/Bundles ---

    def create_bundle(self, request: Request) -> Reply:
        form = request.form
        _required(form, "FriendlyName")
        _required(form, "Email")
        regulation = self._regulation_asked(form)
        bundle = self.add_bundle(request.params["account"], regulation, form)
        return Reply(201, bundle)

    def add_bundle(
        self, account_sid: str, regulation: regulations.Regulation, form: dict[str, str], sid: str | None = None
    ) -> dict[str, Any]:
        """A bundle of `regulation`, reviewed at once (its status from its FriendlyName)."""
        status = regulations.bundle_status_of(form["FriendlyName"])
        bundle = resources.bundle(account_sid, sid or resources.new_sid("BU"), regulation.sid, status, form)
        self.bundles[bundle["sid"]] = bundle
        return bundle

    def fetch_bundle(self, request: Request) -> Reply:
        return Reply(200, _by_sid(self.bundles, request))

    def fetch_regulation(self, request: Request) -> Reply:
        regulation = self.regulations.get(request.params["sid"])
        if regulation is None:
            raise not_found(request.path)
        return Reply(200, resources.regulation(**vars(regulation)))

    def regulation(self, iso_country: str, number_type: str, end_user_type: str) -> regulations.Regulation | None:
        return next(
            (
                r
                for r in self.regulations.values()
                if (r.iso_country, r.number_type, r.end_user_type) == (iso_country, number_type, end_user_type)
            ),
            None,
        )

    # --- Addresses ---

    def create_address(self, request: Request) -> Reply:
        for name in ("CustomerName", "Street", "City", "Region", "PostalCode", "IsoCountry"):
            _required(request.form, name)
        return Reply(201, self.add_address(request.params["account"], request.form))

    def add_address(self, account_sid: str, form: dict[str, str], sid: str | None = None) -> dict[str, Any]:
        address = resources.address(account_sid, sid or resources.new_sid("AD"), form)
        self.addresses[address["sid"]] = address
        return address

    def fetch_address(self, request: Request) -> Reply:
        return Reply(200, _by_sid(self.addresses, request))

    # --- helpers ---

    def _regulation_asked(self, form: dict[str, str]) -> regulations.Regulation:
        """By RegulationSid, or by IsoCountry, NumberType and EndUserType, as Twilio's Bundles create takes it."""
        if "RegulationSid" in form:
            found = self.regulations.get(form["RegulationSid"])
        else:
            found = self.regulation(
                _required(form, "IsoCountry"), _required(form, "NumberType"), _required(form, "EndUserType")
            )
        if found is None:
            raise TwilioError(400, 20001, "No Regulation matches this country, number type and end-user type.")
        return found

    def _regulation_of_number(self, phone_number: str) -> regulations.Regulation | None:
        """The Regulation a number falls under (its end-user type aside), None when its country needs no bundle."""
        if phone_number == MAGIC_AVAILABLE:
            return None
        country, number_type = regulations.country_and_type(phone_number)
        if not regulations.is_regulated(country) or number_type is None:
            return None
        return self.regulation(country, number_type, regulations.END_USER_TYPES[0])

    def _regulatory_refusal(
        self, account_sid: str, phone_number: str, regulation: regulations.Regulation | None, form: dict[str, str]
    ) -> regulations.Refusal | None:
        """The bundle and the address must be the buying account's own: another account's are unknown to it."""
        if regulation is None:
            return None
        return self._bundle_refusal(account_sid, phone_number, regulation, form) or self._address_refusal(
            account_sid, phone_number, regulation, form
        )

    def _bundle_refusal(
        self, account_sid: str, phone_number: str, regulation: regulations.Regulation, form: dict[str, str]
    ) -> regulations.Refusal | None:
        bundle_sid = form.get("BundleSid", "")
        if not bundle_sid:
            return regulations.NO_BUNDLE
        bundle = _in_account(self.bundles, bundle_sid, account_sid)
        if bundle is None or bundle["status"] != regulations.APPROVED:
            return regulations.Refusal(
                regulations.BUNDLE_REQUIRED, f"Bundle {bundle_sid} status is not twilio-approved."
            )
        made_for = self.regulations[bundle["regulation_sid"]]
        if (made_for.iso_country, made_for.number_type) != (regulation.iso_country, regulation.number_type):
            return regulations.Refusal(
                regulations.BUNDLE_REQUIRED,
                f"Bundle {bundle_sid} is not valid for {phone_number}: it was made for "
                f"{made_for.iso_country} {made_for.number_type} numbers.",
            )
        return None

    def _address_refusal(
        self, account_sid: str, phone_number: str, regulation: regulations.Regulation, form: dict[str, str]
    ) -> regulations.Refusal | None:
        address_sid = form.get("AddressSid", "")
        if not address_sid:
            return regulations.NO_ADDRESS
        address = _in_account(self.addresses, address_sid, account_sid)
        if address is None or (
            regulation.address_requirements == "local"
            and not regulations.in_territory(address["iso_country"], regulation.iso_country)
        ):
            return regulations.Refusal(
                regulations.ADDRESS_REQUIRED,
                f"Address {address_sid} does not satisfy the {regulation.address_requirements} address requirement "
                f"of {phone_number}.",
            )
        return None

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
        """Every account's: a number one account holds is sold to no other."""
        return {n["phone_number"] for n in self.incoming.values()}

    def _caller_id_by_number(self, account_sid: str, phone_number: str) -> dict[str, Any] | None:
        return next(
            (
                c
                for c in self.caller_ids.values()
                if c["phone_number"] == phone_number and c["account_sid"] == account_sid
            ),
            None,
        )

    def _verify(
        self,
        generation: int,
        phone_number: str,
        friendly_name: str,
        call_sid: str,
        status_callback: str | None,
        *,
        account_sid: str,
    ) -> None:
        """The person answered the verification call; numbers ending in 0000 never type the right code. The
        callback is signed with the auth token of the account that asked."""
        with self.lock:
            if generation != self.generation:
                return  # the emulator was reset meanwhile: this verification belongs to a forgotten test
            auth_token = self.accounts.by_sid[account_sid]["auth_token"]
            succeeded = not phone_number.endswith("0000")
            params = {
                "AccountSid": account_sid,
                "CallSid": call_sid,
                "VerificationStatus": "success" if succeeded else "failed",
                "To": phone_number,
                "Called": phone_number,
                "PhoneNumber": phone_number,
                "ApiVersion": resources.API_VERSION,
            }
            if succeeded:
                caller_id = self._caller_id_by_number(account_sid, phone_number) or resources.caller_id(
                    account_sid, phone_number, friendly_name
                )
                self.caller_ids[caller_id["sid"]] = caller_id
                params["OutgoingCallerIdSid"] = caller_id["sid"]
        if status_callback:
            post_signed(status_callback, params, auth_token)


def _check_urls(form: dict[str, str]) -> None:
    """Twilio calls these URLs back (and signs them whole, path and query included): each must be absolute."""
    for name, code in URL_ERRORS.items():
        url = form.get(name)
        if url is None or url == "":
            continue
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL_LENGTH:
            raise TwilioError(400, code, f"{name} is not a valid URL: {url}")


def _by_sid(resources_by_sid: dict[str, dict[str, Any]], request: Request) -> dict[str, Any]:
    """The resource the path names, in the request's account: another account's is not found, as at Twilio."""
    found = _in_account(resources_by_sid, request.params["sid"], request.params["account"])
    if found is None:
        raise not_found(request.path)
    return found


def _in_account(resources_by_sid: dict[str, dict[str, Any]], sid: str, account_sid: str) -> dict[str, Any] | None:
    found = resources_by_sid.get(sid)
    return found if found is not None and found["account_sid"] == account_sid else None


def _of_account(resources_by_sid: dict[str, dict[str, Any]], request: Request) -> list[dict[str, Any]]:
    return [r for r in resources_by_sid.values() if r["account_sid"] == request.params["account"]]


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise TwilioError(400, 21604 if name == "PhoneNumber" else 20001, f"A '{name}' parameter is required.")
    return value


def _page_size(query: dict[str, str]) -> int:
    return min(max(int(query.get("PageSize", 20)), 1), 50)


_FILTERS = (("PhoneNumber", "phone_number"), ("FriendlyName", "friendly_name"))
_ACCOUNT_FILTERS = (("FriendlyName", "friendly_name"), ("Status", "status"))


def _matches_filters(
    resource: dict[str, Any], query: dict[str, str], filters: tuple[tuple[str, str], ...] = _FILTERS
) -> bool:
    return all(resource.get(field_name) == query[param] for param, field_name in filters if param in query)


def _accounts_route(method: str, path: str, handler: Handler) -> tuple[str, re.Pattern[str], Handler]:
    return method, re.compile(_ACCOUNTS + path + "$"), handler


def _route(method: str, path: str, handler: Handler) -> tuple[str, re.Pattern[str], Handler]:
    return method, re.compile(_ACCOUNT + path + "$"), handler


def _numbers_route(method: str, path: str, handler: Handler) -> tuple[str, re.Pattern[str], Handler]:
    """Numbers v2 (numbers.twilio.com): no account in the path, the credentials name it."""
    return method, re.compile(r"^/v2" + path + "$"), handler


_AVAILABLE = r"/AvailablePhoneNumbers/(?P<country>[A-Z]{2})/(?P<kind>Local|Mobile|TollFree|National)\.json"
_ROUTES = [
    _accounts_route("GET", r"\.json", TwilioApi.list_accounts),
    _accounts_route("POST", r"\.json", TwilioApi.create_account),
    _accounts_route("GET", rf"/{_SID}\.json", TwilioApi.fetch_account),
    _accounts_route("POST", rf"/{_SID}\.json", TwilioApi.update_account),
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
    _route("POST", r"/Addresses\.json", TwilioApi.create_address),
    _route("GET", rf"/Addresses/{_SID}\.json", TwilioApi.fetch_address),
    _numbers_route("POST", r"/RegulatoryCompliance/Bundles", TwilioApi.create_bundle),
    _numbers_route("GET", rf"/RegulatoryCompliance/Bundles/{_SID}", TwilioApi.fetch_bundle),
    _numbers_route("GET", rf"/RegulatoryCompliance/Regulations/{_SID}", TwilioApi.fetch_regulation),
]
