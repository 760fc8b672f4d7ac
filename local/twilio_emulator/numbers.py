"""Phone numbers the emulator offers: random, unique, and valid for their country according to phonenumbers."""

import re
import secrets
from collections.abc import Collection

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberFormat, PhoneNumberType

# Twilio's list name -> the phonenumbers types a number of that list may have.
NUMBER_KINDS: dict[str, tuple[int, ...]] = {
    "Local": (PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE),
    "Mobile": (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE),
    "TollFree": (PhoneNumberType.TOLL_FREE,),
    "National": (PhoneNumberType.VOIP, PhoneNumberType.UAN, PhoneNumberType.PERSONAL_NUMBER),
}
_KEYPAD = {
    letter: str(digit)
    for digit, letters in {
        2: "ABC",
        3: "DEF",
        4: "GHI",
        5: "JKL",
        6: "MNO",
        7: "PQRS",
        8: "TUV",
        9: "WXYZ",
    }.items()
    for letter in letters
}
# First digits of the national number to draw from, where the example number's own would offer too narrow a choice.
# The French ones include the ranges Arcep reserves for automated calling systems (decision n° 2022-1583:
# 0162, 0163, 0270, 0271, 0377, 0378, 0424, 0425, 0568, 0569, 0948, 0949; overseas 09475 to 09479), so a purchase of
# a number allowed for automated calling can be tried locally.
PREFIXES: dict[tuple[str, str], tuple[str, ...]] = {
    ("FR", "Local"): ("1", "2", "3", "4", "5", "162", "163", "270", "271", "377", "378", "424", "425", "568", "569"),
    ("FR", "National"): ("9", "948", "949", "9475", "9476", "9477", "9478", "9479"),
}
AREA_CODE_COUNTRIES = ("US", "CA")
_CONTAINS = re.compile(r"[0-9A-Za-z*]+")
_ATTEMPTS_PER_NUMBER = 60
_KEPT_EXAMPLE_DIGITS = 2


def e164(number: PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def national_format(number: PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)


def parse_valid(phone_number: str) -> PhoneNumber | None:
    try:
        parsed = phonenumbers.parse(phone_number, None)
    except phonenumbers.NumberParseException:
        return None
    return parsed if phonenumbers.is_valid_number(parsed) else None


def is_supported_country(country: str) -> bool:
    return country in phonenumbers.SUPPORTED_REGIONS


def contains_pattern(contains: str) -> str:
    """Twilio's Contains: digits, letters (phone keypad) and `*` for any one digit; anything else is a ValueError."""
    if _CONTAINS.fullmatch(contains) is None:
        raise ValueError(f"Contains may only have digits, letters and '*': {contains!r}")
    return "".join(_KEYPAD.get(char, char) for char in contains.upper())


def generate(
    country: str,
    kind: str,
    count: int,
    *,
    area_code: str | None = None,
    contains: str | None = None,
    exclude: Collection[str] = (),
) -> list[PhoneNumber]:
    example = _example(country, kind)
    if example is None:
        return []
    national = str(example.national_number)
    # Twilio's AreaCode "applies to only phone numbers in the US and Canada": elsewhere it selects nothing.
    default_prefixes = PREFIXES.get((country, kind), (national[:_KEPT_EXAMPLE_DIGITS],))
    prefixes = (area_code,) if area_code and country in AREA_CODE_COUNTRIES else default_prefixes
    pattern = contains_pattern(contains) if contains else None
    found: dict[str, PhoneNumber] = {}
    for _ in range(count * _ATTEMPTS_PER_NUMBER):
        if len(found) >= count:
            break
        candidate = _candidate(example.country_code or 0, secrets.choice(prefixes), len(national), pattern)
        if candidate is not None and _fits(candidate, kind, pattern) and e164(candidate) not in exclude:
            found.setdefault(e164(candidate), candidate)
    return list(found.values())


def _example(country: str, kind: str) -> PhoneNumber | None:
    for number_type in NUMBER_KINDS[kind]:
        example = phonenumbers.example_number_for_type(country, number_type)
        if example is not None:
            return example
    return None


def _candidate(country_code: int, prefix: str, length: int, pattern: str | None) -> PhoneNumber | None:
    digits = list(prefix + "".join(str(secrets.randbelow(10)) for _ in range(length - len(prefix))))
    if pattern:
        free = length - len(prefix) - len(pattern)
        if free < 0:
            return None
        start = len(prefix) + secrets.randbelow(free + 1)
        for offset, char in enumerate(pattern):
            if char.isdigit():
                digits[start + offset] = char
    try:
        return phonenumbers.parse(f"+{country_code}{''.join(digits)}", None)
    except phonenumbers.NumberParseException:
        return None


def _fits(number: PhoneNumber, kind: str, pattern: str | None) -> bool:
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in NUMBER_KINDS[kind]:
        return False
    return pattern is None or re.search(pattern.replace("*", r"\d"), e164(number)) is not None
