"""What Twilio requires before it sells a number: a bundle made for the number's Regulation, an address where the
number may be assigned.

At Twilio a Regulation is one country, number type and end-user type (Numbers v2 RegulatoryCompliance/Regulations),
and a bundle belongs to one Regulation (its `regulation_sid`). Twilio refuses a purchase with HTTP 400 (as its other
IncomingPhoneNumbers parameter errors; users report 400 for a refused address) and
- 21649 when the bundle is missing, is not approved or is not "valid for the phone number": "API calls to provision
  regulated phone numbers that do not include a compliant BundleSID that is valid for the phone number will fail
  with error code 21649" (Twilio changelog, 12 February 2020, "Regulated Number Bundle Provisioning Requirement");
- 21631 when the address is missing or does not meet the number's address requirement: "API calls to provisioned
  phone numbers that do not submit a valid address will fail with error code 21631" (Twilio changelog,
  10 September 2019; https://www.twilio.com/docs/errors/21631).
French numbers: every type needs a bundle; "except for fourteen (14) digit extended France mobile and toll-free
phone numbers, all other France phone numbers cannot be assigned extraterritorially" (Twilio's service terms for
France phone numbers, updated 1 October 2024): their address must be in France (metropolitan or overseas), a
toll-free number's anywhere.
"""

from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType

BUNDLE_REQUIRED = 21649
ADDRESS_REQUIRED = 21631
APPROVED = "twilio-approved"
REJECTED = "twilio-rejected"
PROVISIONALLY_APPROVED = "provisionally-approved"
# France's numbering plan: metropolitan France and the overseas departments with their own country codes.
FRENCH_REGIONS = ("FR", "GP", "BL", "MF", "GF", "MQ", "RE", "YT")
# Bundle NumberType (Numbers v2: local, mobile, national, toll-free) -> its AvailablePhoneNumbers list.
NUMBER_TYPES = {"local": "Local", "mobile": "Mobile", "national": "National", "toll-free": "TollFree"}
END_USER_TYPES = ("individual", "business")
_TYPE_OF_NUMBER = {
    PhoneNumberType.FIXED_LINE: "local",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "local",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.TOLL_FREE: "toll-free",
    PhoneNumberType.VOIP: "national",
    PhoneNumberType.UAN: "national",
    PhoneNumberType.PERSONAL_NUMBER: "national",
}


@dataclass(frozen=True)
class Refusal:
    code: int
    message: str


@dataclass(frozen=True)
class Regulation:
    sid: str
    iso_country: str
    number_type: str
    end_user_type: str

    @property
    def address_requirements(self) -> str:
        """Twilio's values: none, any, local (the number's territory), foreign."""
        return "any" if self.number_type == "toll-free" else "local"


def is_regulated(country: str) -> bool:
    return country in FRENCH_REGIONS


def address_requirements(country: str, list_name: str) -> str:
    if not is_regulated(country):
        return "none"
    return "any" if list_name == "TollFree" else "local"


def country_and_type(phone_number: str) -> tuple[str, str | None]:
    """The number's country (phonenumbers region) and its bundle NumberType, None when it has none."""
    number = phonenumbers.parse(phone_number, None)
    country = phonenumbers.region_code_for_number(number) or ""
    return country, _TYPE_OF_NUMBER.get(phonenumbers.number_type(number))


def in_territory(address_country: str, number_country: str) -> bool:
    """An address where a number of `number_country` may be assigned under a "local" requirement."""
    if is_regulated(number_country):
        return address_country in FRENCH_REGIONS
    return address_country == number_country


def bundle_status_of(friendly_name: str) -> str:
    """The emulator approves a bundle at once, unless its FriendlyName says otherwise (SPEC.md, "France")."""
    name = friendly_name.lower()
    if "rejected" in name:
        return REJECTED
    if "provisional" in name:
        return PROVISIONALLY_APPROVED
    return APPROVED


NO_BUNDLE = Refusal(
    BUNDLE_REQUIRED,
    "To purchase or transfer this number you must provide a bundle compliant with the rules for the country and "
    "number type. More information here: "
    "https://www.twilio.com/docs/phone-numbers/regulatory/phone-numbers-regulatory-requirements-customers",
)
NO_ADDRESS = Refusal(ADDRESS_REQUIRED, "Phone Number Requires an Address but the 'AddressSid' parameter was empty.")
