"""May an automated calling system present a number as its caller ID? Pure rules, no I/O.

The rules are data (`RULES`, each with its source). A rule matches on the number's country and the first digits
of its national significant number (the number without the trunk `0`); the longest matching prefix wins, so a
reserved range (`948`) overrides the block it sits in (`9`). Numbers are parsed by phonenumbers, imported on first
use because it costs cold-start time (see `robotappel.models.phone`).
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from phonenumbers import PhoneNumber

Status = Literal["allowed", "forbidden", "not_assessed"]

ARCEP_DECISION = "Arcep decision n° 2022-1583, in force since 1 January 2023"
TWILIO_FRANCE_TERMS = "Twilio's service terms for France phone numbers"


@dataclass(frozen=True)
class Rule:
    country: str
    prefixes: tuple[str, ...]
    status: Status
    says: str
    source: str


@dataclass(frozen=True)
class Assessment:
    status: Status
    rule: str


RULES: tuple[Rule, ...] = (
    Rule(
        "FR",
        ("162", "163", "270", "271", "377", "378", "424", "425", "568", "569", "948", "949"),
        "allowed",
        "A French number in a metropolitan range reserved for automated calling systems "
        "(numéros polyvalents vérifiés 0162, 0163, 0270, 0271, 0377, 0378, 0424, 0425, 0568, 0569, 0948, 0949) "
        "may be their caller ID",
        ARCEP_DECISION,
    ),
    Rule(
        "FR",
        ("9475", "9476", "9477", "9478", "9479"),
        "allowed",
        "A French number in the overseas range reserved for automated calling systems (09475 to 09479) "
        "may be their caller ID",
        ARCEP_DECISION,
    ),
    Rule(
        "FR",
        ("1", "2", "3", "4", "5", "9"),
        "forbidden",
        "An automated calling system may not present a French geographic or non-geographic number (01 to 05, 09) "
        "outside the ranges reserved for it",
        ARCEP_DECISION,
    ),
    Rule(
        "FR",
        ("6", "7"),
        "forbidden",
        "A French mobile number (06, 07) may never be the caller ID of an automated calling system",
        f"{ARCEP_DECISION}; {TWILIO_FRANCE_TERMS}",
    ),
)

NOT_ASSESSED = Assessment(
    "not_assessed",
    "No rule of RobotAppel's automated-calling table covers this number "
    "(it covers French numbers, except 08 and short numbers).",
)


def assess(e164: str) -> Assessment:
    """Whether an automated calling system may present `e164` as its caller ID, and the rule that says so."""
    import phonenumbers

    number = _parse(e164)
    if not phonenumbers.is_valid_number(number):
        return NOT_ASSESSED
    country = phonenumbers.region_code_for_number(number)
    national = phonenumbers.national_significant_number(number)
    matches = [
        (len(prefix), rule)
        for rule in RULES
        if rule.country == country
        for prefix in rule.prefixes
        if national.startswith(prefix)
    ]
    if not matches:
        return NOT_ASSESSED
    _, rule = max(matches, key=lambda match: match[0])
    return Assessment(rule.status, f"{rule.says} ({rule.source}).")


def _parse(e164: str) -> "PhoneNumber":
    import phonenumbers

    try:
        return phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException as error:
        raise ValueError(f"{e164!r} is not an E.164 phone number") from error
