"""Signed webhook requests, as Twilio sends them: form-encoded POST with X-Twilio-Signature."""

import logging
import urllib.error
import urllib.request
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

logger = logging.getLogger(__name__)
CALLBACK_TIMEOUT_SECONDS = 10


def post_signed(url: str, params: dict[str, str], auth_token: str) -> int:
    """POST `params` to `url`; returns the HTTP status, or 0 when the URL could not be reached."""
    signature = RequestValidator(auth_token).compute_signature(url, params)
    request = urllib.request.Request(  # noqa: S310 - the URL is the webhook the API client registered
        url,
        data=urlencode(params).encode(),
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
            "User-Agent": "TwilioProxy/1.1",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=CALLBACK_TIMEOUT_SECONDS) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError) as exc:
        logger.warning("Twilio emulator: callback to %s failed: %s", url, exc)
        return 0
