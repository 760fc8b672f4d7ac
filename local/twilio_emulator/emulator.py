"""A local Twilio REST API (2010-04-01) on 127.0.0.1, for tests and the local dev server."""

import base64
import binascii
import hmac
import json
import logging
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from local.twilio_emulator import resources
from local.twilio_emulator.api import Fault, RecordedRequest, Reply, Request, TwilioApi
from local.twilio_emulator.callbacks import post_signed

logger = logging.getLogger(__name__)
_TOO_MANY_REQUESTS = 429


class TwilioEmulator:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        host: str = "127.0.0.1",
        port: int = 0,
        callback_delay: float = 0.2,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api_keys: dict[str, str] = {}
        self.api = TwilioApi(account_sid, auth_token, callback_delay)
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
        self.api.reset()

    def add_api_key(self, sid: str, secret: str) -> None:
        """Accept Basic auth with this API key (SK...) and secret, as Twilio does for API keys."""
        self.api_keys[sid] = secret

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
    ) -> str:
        """The SID of a new bundle for that Regulation, as POST /v2/RegulatoryCompliance/Bundles makes it
        (`number_type` as Twilio spells it: local, mobile, national, toll-free; a `friendly_name` containing
        "rejected" makes a rejected one)."""
        with self.api.lock:
            regulation = self.api.regulation(iso_country, number_type, end_user_type)
            if regulation is None:
                raise LookupError(f"The emulator has no Regulation for {iso_country} {number_type} {end_user_type}")
            form = {"FriendlyName": friendly_name, "Email": email}
            return str(self.api.add_bundle(regulation, form, sid)["sid"])

    def add_address(self, iso_country: str = "FR", sid: str | None = None, **fields: str) -> str:
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
            return str(self.api.add_address(form, sid)["sid"])

    def incoming_numbers(self) -> list[dict[str, Any]]:
        with self.api.lock:
            return [dict(n) for n in self.api.incoming.values()]

    def caller_ids(self) -> list[dict[str, Any]]:
        with self.api.lock:
            return [dict(c) for c in self.api.caller_ids.values()]

    @property
    def requests_log(self) -> list[RecordedRequest]:
        with self.api.lock:
            return list(self.api.log)

    def simulate_call(self, to: str, from_: str, call_sid: str, call_status: str = "completed") -> int:
        """POST a signed call-status callback to the StatusCallback of the owned number `to` (or `from_`)."""
        number, direction = self._number_in_call(to, from_)
        if not number.get("status_callback"):
            raise LookupError(f"The Twilio number {number['phone_number']} has no StatusCallback.")
        params = {
            "AccountSid": self.account_sid,
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
        return post_signed(number["status_callback"], params, self.auth_token)

    def authenticate(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            username, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        expected = self.auth_token if username == self.account_sid else self.api_keys.get(username)
        return expected is not None and hmac.compare_digest(password, expected)

    def dispatch(self, request: Request, authorization: str | None) -> Reply:
        if not self.authenticate(authorization):
            reply = Reply(401, resources.error_body(401, 20003, "Authenticate"))
        else:
            reply = self._faulted(request) or self._carried_out(request)
        self.api.record(request, reply)
        return reply

    def _carried_out(self, request: Request) -> Reply:
        reply = self.api.handle(request)
        if reply.before_answering is not None:
            reply.before_answering()
        return reply

    def _faulted(self, request: Request) -> Reply | None:
        fault = self.api.take_fault(request.method, request.path)
        if fault is None:
            return None
        if fault.processed:
            self._carried_out(request)
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
        raise LookupError(f"Neither {to} nor {from_} is a number of this Twilio account.")


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
