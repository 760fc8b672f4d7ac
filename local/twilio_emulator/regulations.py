"""What Twilio requires before it sells a number of a country: an approved regulatory bundle, an address.

Twilio refuses such a purchase with HTTP 400 (as its other IncomingPhoneNumbers parameter errors; users report 400
for a refused address) and
- 21649 when the bundle is missing or is not approved: "API calls to provision regulated phone numbers that do not
  include a compliant BundleSID that is valid for the phone number will fail with error code 21649" (Twilio
  changelog, 12 February 2020, "Regulated Number Bundle Provisioning Requirement");
- 21631 when the address is missing: "API calls to provisioned phone numbers that do not submit a valid address will
  fail with error code 21631" (Twilio changelog, 10 September 2019; https://www.twilio.com/docs/errors/21631).
The messages are the ones Twilio's API gives (as quoted by the Twilio CLI) or, for an unapproved bundle, as reported
by Twilio users. The only other bundle code found in Twilio's docs, 22170 ("Port In Error - Invalid Bundle"), is
for port-ins, not purchases.
"""

import re
from dataclasses import dataclass

import phonenumbers

BUNDLE_REQUIRED = 21649
ADDRESS_REQUIRED = 21631
APPROVED = "twilio-approved"
REJECTED = "twilio-rejected"
# The emulator's bundles (SPEC.md, "France"): every well-formed bundle SID is approved, except this one.
REJECTED_BUNDLE = "BU" + "0" * 32
_BUNDLE_SID = re.compile(r"BU[0-9a-fA-F]{32}")


@dataclass(frozen=True)
class Refusal:
    code: int
    message: str


@dataclass(frozen=True)
class Regulation:
    bundle: bool
    address_requirements: str  # Twilio's values: none, any, local, foreign

    def refusal(self, form: dict[str, str]) -> Refusal | None:
        """Why Twilio would refuse a purchase with these IncomingPhoneNumbers parameters, if it would."""
        bundle_sid = form.get("BundleSid", "")
        if self.bundle and not bundle_sid:
            return Refusal(
                BUNDLE_REQUIRED,
                "To purchase or transfer this number you must provide a bundle compliant with the rules for the "
                "country and number type. More information here: "
                "https://www.twilio.com/docs/phone-numbers/regulatory/phone-numbers-regulatory-requirements-customers",
            )
        if self.bundle and bundle_status(bundle_sid) != APPROVED:
            return Refusal(BUNDLE_REQUIRED, f"Bundle {bundle_sid} status is not twilio-approved.")
        if self.address_requirements != "none" and not form.get("AddressSid"):
            return Refusal(
                ADDRESS_REQUIRED, "Phone Number Requires an Address but the 'AddressSid' parameter was empty."
            )
        return None


UNREGULATED = Regulation(bundle=False, address_requirements="none")
# For every number type Twilio sells in the country. France: SPEC.md and issue #17 (Twilio sells French numbers only
# with an approved bundle and an address). Twilio's per-type French guidelines could not be checked, hence every
# type alike, and "any" (an address is needed, where is not checked) rather than a locality Twilio may ask for.
REGULATIONS: dict[str, Regulation] = {
    "FR": Regulation(bundle=True, address_requirements="any"),
}


def regulation_of_country(country: str) -> Regulation:
    return REGULATIONS.get(country, UNREGULATED)


def regulation_of_number(phone_number: str) -> Regulation:
    country = phonenumbers.region_code_for_number(phonenumbers.parse(phone_number, None))
    return regulation_of_country(country) if country else UNREGULATED


def bundle_status(sid: str) -> str | None:
    """The status of bundle `sid`, or None when the emulated account has no such bundle."""
    if _BUNDLE_SID.fullmatch(sid) is None:
        return None
    return REJECTED if sid == REJECTED_BUNDLE else APPROVED
