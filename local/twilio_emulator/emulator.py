"""A local Twilio REST API (2010-04-01) on 127.0.0.1, for tests and the local dev server."""

import base64
import binascii
import json
import logging
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from local.twilio_emulator import accounts, resources
from local.twilio_emulator.api import Fault, RecordedRequest, TwilioApi
from local.twilio_emulator.callbacks import post_signed
from local.twilio_emulator.exchange import Reply, Request

logger = logging.getLogger(__name__)
_TOO_MANY_REQUESTS = 429


class TwilioEmulator:
    """Twilio's main account `account_sid` (its auth token `auth_token`) and the subaccounts it makes (at most
    `max_subaccounts`, Twilio's default limit unless a test wants it small).

    The helpers below act as the main account's credentials would; `account_sid=None` means the main account."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        host: str = "127.0.0.1",
        port: int = 0,
        callback_delay: float = 0.2,
        *,
        max_subaccounts: int = accounts.DEFAULT_MAX_SUBACCOUNTS,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api = TwilioApi(account_sid, auth_token, callback_delay, max_subaccounts)
        self._address = (host, port)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("The Twilio emulator is not started.")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> "TwilioEmulator":
        server = _Server(self._address, _Handler)
        server.emulator = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.1,), name="twilio-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def reset(self) -> None:
        """Only the main account left (with its API keys), and nothing in it."""
        self.api.reset()

    def add_api_key(self, sid: str, secret: str, *, account_sid: str | None = None) -> None:
        """Accept Basic auth with this API key (SK...) and secret, as Twilio does for an API key of that account."""
        with self.api.lock:
            self.api.accounts.api_keys[sid] = accounts.ApiKey(secret, account_sid or self.account_sid)

    def create_subaccount(self, friendly_name: str | None = None) -> dict[str, Any]:
        """A new subaccount of the main account, as POST /2010-04-01/Accounts.json returns it (with its auth_token);
        raises TwilioError (its `code`, e.g. 21480) where Twilio refuses it."""
        with self.api.lock:
            return dict(self.api.accounts.create(self.account_sid, friendly_name))

    def account(self, sid: str | None = None) -> dict[str, Any]:
        """The account as GET /2010-04-01/Accounts/{Sid}.json returns it to the main account's credentials."""
        with self.api.lock:
            found = self.api.accounts.by_sid.get(sid or self.account_sid)
            if found is None:
                raise LookupError(f"The emulator has no account {sid}")
            return dict(found)

    def accounts(self) -> list[dict[str, Any]]:
        """The main account, then its subaccounts in the order they were made."""
        with self.api.lock:
            return [dict(a) for a in self.api.accounts.by_sid.values()]

    def update_account(
        self, sid: str, *, status: str | None = None, friendly_name: str | None = None
    ) -> dict[str, Any]:
        """POST /2010-04-01/Accounts/{Sid}.json with the main account's credentials (Status: active, suspended,
        closed; closing releases the account's numbers); raises TwilioError where Twilio refuses it."""
        form = {"Status": status, "FriendlyName": friendly_name}
        path = f"{resources.account_path(sid)}.json"
        with self.api.lock:
            changed = self.api.change_account(
                self.account_sid, sid, {k: v for k, v in form.items() if v is not None}, path
            )
            return dict(changed)

    def inject_fault(
        self,
        method: str = "POST",
        path_pattern: str = r".*",
        *,
        status: int | None = 500,
        code: int = 20500,
        message: str = "An internal server error has occurred.",
        delay: float = 0.0,
        times: int = 1,
        drop_connection: bool = False,
        processed: bool = False,
    ) -> None:
        """The next `times` matching requests wait `delay`, then fail with `status` or a dropped connection.

        `status=None` and no drop: the request is only delayed, then handled normally. `processed=True`: "Twilio did
        it but the answer is lost": the request is carried out, then the client waits `delay` (past its timeout, a
        read timeout) and the connection drops.
        """
        fault = Fault(
            method.upper(), re.compile(path_pattern), status, code, message, delay, times, drop_connection, processed
        )
        with self.api.lock:
            self.api.faults.append(fault)

    def add_bundle(
        self,
        iso_country: str,
        number_type: str,
        *,
        end_user_type: str = "business",
        friendly_name: str = "RobotAppel",
        email: str = "compliance@robotappel.example",
        sid: str | None = None,
        account_sid: str | None = None,
    ) -> str:
        """The SID of a new bundle for that Regulation, as POST /v2/RegulatoryCompliance/Bundles makes it with the
        credentials of `account_sid` (`number_type` as Twilio spells it: local, mobile, national, toll-free; a
        `friendly_name` containing "rejected" makes a rejected one)."""
        with self.api.lock:
            regulation = self.api.regulation(iso_country, number_type, end_user_type)
            if regulation is None:
                raise LookupError(f"The emulator has no Regulation for {iso_country} {number_type} {end_user_type}")
            form = {"FriendlyName": friendly_name, "Email": email}
            return str(self.api.add_bundle(account_sid or self.account_sid, regulation, form, sid)["sid"])

    def add_address(
        self, iso_country: str = "FR", sid: str | None = None, *, account_sid: str | None = None, **fields: str
    ) -> str:
        """The SID of a new address, as POST /2010-04-01/Accounts/{AccountSid}/Addresses.json makes it."""
        form = {
            "CustomerName": "RobotAppel",
            "Street": "1 rue de Rivoli",
            "City": "Paris",
            "Region": "Île-de-France",
            "PostalCode": "75001",
            "IsoCountry": iso_country,
            **fields,
        }
        with self.api.lock:
            return str(self.api.add_address(account_sid or self.account_sid, form, sid)["sid"])

    def incoming_numbers(self, account_sid: str | None = None) -> list[dict[str, Any]]:
        with self.api.lock:
            return [
                dict(n) for n in self.api.incoming.values() if n["account_sid"] == (account_sid or self.account_sid)
            ]

    def caller_ids(self, account_sid: str | None = None) -> list[dict[str, Any]]:
        with self.api.lock:
            return [
                dict(c) for c in self.api.caller_ids.values() if c["account_sid"] == (account_sid or self.account_sid)
            ]

    @property
    def requests_log(self) -> list[RecordedRequest]:
        with self.api.lock:
            return list(self.api.log)

    def simulate_call(self, to: str, from_: str, call_sid: str, call_status: str = "completed") -> int:
        """POST a call-status callback to the StatusCallback of the owned number `to` (or `from_`), signed with the
        auth token of the account that holds it."""
        number, direction = self._number_in_call(to, from_)
        if not number.get("status_callback"):
            raise LookupError(f"The Twilio number {number['phone_number']} has no StatusCallback.")
        owner = self.account(number["account_sid"])
        params = {
            "AccountSid": owner["sid"],
            "ApiVersion": resources.API_VERSION,
            "CallSid": call_sid,
            "CallStatus": call_status,
            "Called": to,
            "Caller": from_,
            "Direction": direction,
            "From": from_,
            "To": to,
            "CallDuration": "0" if call_status != "completed" else "42",
            "Timestamp": resources.rfc2822_now(),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": "0",
        }
        return post_signed(number["status_callback"], params, owner["auth_token"])

    def principal(self, header: str | None) -> str | None:
        """The account whose credentials the Authorization header carries, None when it carries none that work."""
        if not header or not header.startswith("Basic "):
            return None
        try:
            username, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return self.api.authenticated(username, password)

    def dispatch(self, request: Request, authorization: str | None) -> Reply:
        principal = self.principal(authorization)
        if principal is None:
            reply = accounts.authentication_error().reply
        else:
            reply = self._faulted(request, principal) or self._carried_out(request, principal)
        self.api.record(request, reply)
        return reply

    def _carried_out(self, request: Request, principal: str) -> Reply:
        reply = self.api.handle(request, principal)
        if reply.before_answering is not None:
            reply.before_answering()
        return reply

    def _faulted(self, request: Request, principal: str) -> Reply | None:
        fault = self.api.take_fault(request.method, request.path)
        if fault is None:
            return None
        if fault.processed:
            self._carried_out(request, principal)
        time.sleep(fault.delay)
        if fault.drop_connection or fault.processed:
            return Reply(0, drop_connection=True)
        if fault.status is None:
            return None
        return Reply(fault.status, resources.error_body(fault.status, fault.code, fault.message))

    def _number_in_call(self, to: str, from_: str) -> tuple[dict[str, Any], str]:
        with self.api.lock:
            for number in self.api.incoming.values():
                if number["phone_number"] == to:
                    return dict(number), "inbound"
                if number["phone_number"] == from_:
                    return dict(number), "outbound-api"
        raise LookupError(f"Neither {to} nor {from_} is a number of an account at this emulator.")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: TwilioEmulator


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "TwilioEmulator/1.0"
    sys_version = ""
    _NO_BODY: ClassVar[set[int]] = {204, 304}

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("Twilio emulator: " + format, *args)

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        request = Request(self.command, url.path, _flat(url.query), _flat(body))
        reply = self.server.emulator.dispatch(request, self.headers.get("Authorization"))
        if reply.drop_connection:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        payload = b"" if reply.status in self._NO_BODY else _json(reply.body)
        self.send_response(reply.status)
        if payload:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        if reply.status == _TOO_MANY_REQUESTS:
            self.send_header("Retry-After", "1")
        self.send_header("Content-Length", str(len(payload)))
        try:
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            logger.debug("Twilio emulator: the client stopped waiting for the answer (its timeout)")


def _flat(encoded: str) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(encoded, keep_blank_values=True).items()}


def _json(body: Any) -> bytes:
    return json.dumps(body).encode()
