"""Twilio's JSON shapes (API 2010-04-01, and Numbers v2 for bundles) for the resources the emulator keeps."""

import secrets
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

API_VERSION = "2010-04-01"
NUMBERS_API_URL = "https://numbers.twilio.com"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000

# Form parameter of IncomingPhoneNumbers create/update -> JSON field.
INCOMING_NUMBER_FIELDS = {
    "FriendlyName": "friendly_name",
    "VoiceUrl": "voice_url",
    "VoiceMethod": "voice_method",
    "VoiceFallbackUrl": "voice_fallback_url",
    "VoiceFallbackMethod": "voice_fallback_method",
    "StatusCallback": "status_callback",
    "StatusCallbackMethod": "status_callback_method",
    "SmsUrl": "sms_url",
    "SmsMethod": "sms_method",
    "BundleSid": "bundle_sid",
    "AddressSid": "address_sid",
    "IdentitySid": "identity_sid",
}


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def rfc2822_now() -> str:
    return format_datetime(datetime.now(UTC).replace(microsecond=0))


def iso8601_now() -> str:
    """Numbers v2 dates: ISO 8601 in UTC, as "2019-07-30T22:29:24Z"."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def account_path(account_sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}"


# The subresources Twilio lists on an Account (its spec's example), each under the account's path.
ACCOUNT_SUBRESOURCES = {
    "available_phone_numbers": "AvailablePhoneNumbers",
    "calls": "Calls",
    "conferences": "Conferences",
    "incoming_phone_numbers": "IncomingPhoneNumbers",
    "notifications": "Notifications",
    "outgoing_caller_ids": "OutgoingCallerIds",
    "recordings": "Recordings",
    "transcriptions": "Transcriptions",
    "addresses": "Addresses",
    "signing_keys": "SigningKeys",
    "connect_apps": "ConnectApps",
    "sip": "SIP",
    "authorized_connect_apps": "AuthorizedConnectApps",
    "usage": "Usage",
    "keys": "Keys",
    "applications": "Applications",
    "short_codes": "SMS/ShortCodes",
    "queues": "Queues",
    "messages": "Messages",
    "balance": "Balance",
}


def account(sid: str, owner_account_sid: str, auth_token: str, friendly_name: str) -> dict[str, Any]:
    now = rfc2822_now()
    return {
        "sid": sid,
        "owner_account_sid": owner_account_sid,
        "auth_token": auth_token,
        "friendly_name": friendly_name,
        "status": "active",
        "type": "Full",
        "date_created": now,
        "date_updated": now,
        "uri": f"{account_path(sid)}.json",
        "subresource_uris": {name: f"{account_path(sid)}/{path}.json" for name, path in ACCOUNT_SUBRESOURCES.items()},
    }


def error_body(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def caller_id(account_sid: str, phone_number: str, friendly_name: str) -> dict[str, Any]:
    sid = new_sid("PN")
    now = rfc2822_now()
    return {
        "sid": sid,
        "account_sid": account_sid,
        "friendly_name": friendly_name,
        "phone_number": phone_number,
        "date_created": now,
        "date_updated": now,
        "uri": f"{account_path(account_sid)}/OutgoingCallerIds/{sid}.json",
    }


def incoming_number(
    account_sid: str, phone_number: str, form: dict[str, str], address_requirements: str
) -> dict[str, Any]:
    sid = new_sid("PN")
    now = rfc2822_now()
    number: dict[str, Any] = {
        "sid": sid,
        "account_sid": account_sid,
        "phone_number": phone_number,
        "friendly_name": phone_number,
        "address_sid": None,
        "address_requirements": address_requirements,
        "api_version": API_VERSION,
        "beta": False,
        "bundle_sid": None,
        "capabilities": {"voice": True, "sms": True, "mms": False, "fax": False},
        "date_created": now,
        "date_updated": now,
        "emergency_status": "Inactive",
        "emergency_address_sid": None,
        "emergency_address_status": "unregistered",
        "identity_sid": None,
        "origin": "twilio",
        "sms_application_sid": None,
        "sms_fallback_method": "POST",
        "sms_fallback_url": "",
        "sms_method": "POST",
        "sms_url": "",
        "status": "in-use",
        "status_callback": "",
        "status_callback_method": "POST",
        "trunk_sid": None,
        "uri": f"{account_path(account_sid)}/IncomingPhoneNumbers/{sid}.json",
        "voice_application_sid": None,
        "voice_caller_id_lookup": False,
        "voice_fallback_method": "POST",
        "voice_fallback_url": "",
        "voice_method": "POST",
        "voice_receive_mode": "voice",
        "voice_url": "",
        "subresource_uris": {
            "assigned_add_ons": f"{account_path(account_sid)}/IncomingPhoneNumbers/{sid}/AssignedAddOns.json"
        },
    }
    apply_form(number, form, date_updated=now)
    return number


def apply_form(number: dict[str, Any], form: dict[str, str], *, date_updated: str | None = None) -> None:
    for param, field in INCOMING_NUMBER_FIELDS.items():
        if param in form:
            number[field] = form[param]
    number["date_updated"] = date_updated or rfc2822_now()


def available_number(
    phone_number: str, friendly_name: str, iso_country: str, region: str | None, address_requirements: str
) -> dict[str, Any]:
    return {
        "friendly_name": friendly_name,
        "phone_number": phone_number,
        "lata": None,
        "locality": None,
        "rate_center": None,
        "latitude": None,
        "longitude": None,
        "region": region,
        "postal_code": None,
        "iso_country": iso_country,
        "address_requirements": address_requirements,
        "beta": False,
        "capabilities": {"voice": True, "sms": True, "mms": False, "fax": False},
    }


def bundle(account_sid: str, sid: str, regulation_sid: str, status: str, form: dict[str, str]) -> dict[str, Any]:
    """A regulatory bundle (Numbers v2: absolute URLs on Twilio's Numbers host, as Twilio gives them)."""
    url = f"{NUMBERS_API_URL}/v2/RegulatoryCompliance/Bundles/{sid}"
    now = iso8601_now()
    return {
        "sid": sid,
        "account_sid": account_sid,
        "regulation_sid": regulation_sid,
        "friendly_name": form["FriendlyName"],
        "status": status,
        "valid_until": None,
        "email": form["Email"],
        "status_callback": form.get("StatusCallback"),
        "date_created": now,
        "date_updated": now,
        "url": url,
        "links": {
            "evaluations": f"{url}/Evaluations",
            "item_assignments": f"{url}/ItemAssignments",
            "bundle_copies": f"{url}/Copies",
        },
    }


def regulation(sid: str, iso_country: str, number_type: str, end_user_type: str) -> dict[str, Any]:
    return {
        "sid": sid,
        "friendly_name": f"{iso_country}: {number_type} - {end_user_type}",
        "iso_country": iso_country,
        "number_type": number_type,
        "end_user_type": end_user_type,
        "requirements": {"end_user": [], "supporting_document": []},
        "url": f"{NUMBERS_API_URL}/v2/RegulatoryCompliance/Regulations/{sid}",
    }


# Form parameter of Addresses create -> JSON field.
ADDRESS_FIELDS = {
    "CustomerName": "customer_name",
    "Street": "street",
    "StreetSecondary": "street_secondary",
    "City": "city",
    "Region": "region",
    "PostalCode": "postal_code",
    "IsoCountry": "iso_country",
    "FriendlyName": "friendly_name",
}


def address(account_sid: str, sid: str, form: dict[str, str]) -> dict[str, Any]:
    now = rfc2822_now()
    created: dict[str, Any] = dict.fromkeys(ADDRESS_FIELDS.values())
    created |= {field: form[param] for param, field in ADDRESS_FIELDS.items() if param in form}
    return created | {
        "sid": sid,
        "account_sid": account_sid,
        "date_created": now,
        "date_updated": now,
        "emergency_enabled": False,
        "validated": False,
        "verified": False,
        "uri": f"{account_path(account_sid)}/Addresses/{sid}.json",
    }


def page(items: list[dict[str, Any]], key: str, path: str, query: dict[str, str]) -> dict[str, Any]:
    """One page of a list, with Twilio's paging fields (URIs relative to the API host, as Twilio gives them)."""
    size = min(max(int(query.get("PageSize", DEFAULT_PAGE_SIZE)), 1), MAX_PAGE_SIZE)
    number = max(int(query.get("Page", 0)), 0)
    start = number * size
    chunk = items[start : start + size]
    filters = {k: v for k, v in query.items() if k not in {"PageSize", "Page", "PageToken"}}

    def uri(page_number: int) -> str:
        return f"{path}?{urlencode({**filters, 'PageSize': size, 'Page': page_number})}"

    return {
        key: chunk,
        "start": start,
        "end": start + max(len(chunk) - 1, 0),
        "page": number,
        "page_size": size,
        "uri": uri(number),
        "first_page_uri": uri(0),
        "next_page_uri": uri(number + 1) if start + size < len(items) else None,
        "previous_page_uri": uri(number - 1) if number > 0 else None,
    }
