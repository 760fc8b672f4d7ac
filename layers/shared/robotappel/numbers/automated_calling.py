"""May an automated calling system present a number as its caller ID? Pure rules, no I/O.

The rules are data (`RULES`, each with its one source). A rule matches on the number's region (phonenumbers' ISO
code: France's overseas departments have their own country codes, +590, +594, +596 and +262) and the first digits
of its national significant number (the number without the trunk `0`); the longest matching prefix wins, so a
reserved range (`948`) overrides the block it sits in (`9`). Numbers are parsed by phonenumbers, imported on first
use because it costs cold-start time (see `robotappel.models.phone`).

A client phone is a number held at another operator that Twilio presents as a verified caller ID: French operators
cut calls presenting a French number that the operator placing the call cannot authenticate, so such a number is
judged by `NUMBER_AUTHENTICATION` where its range alone would allow it.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from robotappel.models.phone import FRENCH_REGIONS, METROPOLITAN, OVERSEAS

if TYPE_CHECKING:
    from phonenumbers import PhoneNumber

Status = Literal["allowed", "forbidden", "not_assessed"]

ARCEP_DECISION = "Arcep decision n° 2022-1583, in force since 1 January 2023"
# § 2.2.2 of the numbering plan, on caller IDs, as decision n° 2019-0954 wrote it for special numbers and decision
# n° 2022-1583 kept it: automated calling systems may present special numbers (08), except 089 for voice calls.
SPECIAL_NUMBERS = "Arcep national numbering plan § 2.2.2, decisions n° 2019-0954 and n° 2022-1583"
# Law n° 2020-901 ("Naegelen"), art. L. 44 of the CPCE: French operators authenticate the French numbers presented
# as caller ID (MAN, STIR/SHAKEN) and, since 1 October 2024, cut the calls they cannot authenticate.
NUMBER_AUTHENTICATION_SOURCE = "French number authentication (law n° 2020-901, Arcep), enforced since 1 October 2024"

METROPOLITAN_RESERVED = ("162", "163", "270", "271", "377", "378", "424", "425", "568", "569", "948", "949")
OVERSEAS_RESERVED = ("9475", "9476", "9477", "9478", "9479")


@dataclass(frozen=True)
class Rule:
    regions: tuple[str, ...]
    prefixes: tuple[str, ...]
    status: Status
    says: str
    source: str

    @property
    def sentence(self) -> str:
        return f"{self.says} ({self.source})."


@dataclass(frozen=True)
class Assessment:
    status: Status
    rule: str


RULES: tuple[Rule, ...] = (
    Rule(
        METROPOLITAN,
        METROPOLITAN_RESERVED,
        "allowed",
        "A French number in a metropolitan range reserved for automated calling systems "
        "(numéros polyvalents vérifiés 0162, 0163, 0270, 0271, 0377, 0378, 0424, 0425, 0568, 0569, 0948, 0949) "
        "may be their caller ID",
        ARCEP_DECISION,
    ),
    Rule(
        OVERSEAS,
        OVERSEAS_RESERVED,
        "allowed",
        "An overseas French number in the range reserved for automated calling systems (09475 to 09479, "
        "as +590, +594, +596 or +262 numbers) may be their caller ID",
        ARCEP_DECISION,
    ),
    Rule(
        METROPOLITAN,
        ("1", "2", "3", "4", "5", "9"),
        "forbidden",
        "An automated calling system may not present a French geographic or polyvalent number (01 to 05, 09) "
        "outside the ranges reserved for it",
        ARCEP_DECISION,
    ),
    Rule(
        OVERSEAS,
        ("262", "269", "590", "594", "596", "9"),
        "forbidden",
        "An automated calling system may not present an overseas French geographic or polyvalent number "
        "outside the range reserved for it (09475 to 09479)",
        ARCEP_DECISION,
    ),
    Rule(
        FRENCH_REGIONS,
        ("6", "7"),
        "forbidden",
        "A French mobile number (06, 07, and overseas mobiles such as +590 690 or +262 692) may never be the caller "
        "ID of an automated calling system",
        ARCEP_DECISION,
    ),
    Rule(
        METROPOLITAN,
        ("80", "81", "82", "83", "84", "85", "86", "87", "88"),
        "allowed",
        "A French special number (080 to 088) may be the caller ID of an automated calling system",
        SPECIAL_NUMBERS,
    ),
    Rule(
        METROPOLITAN,
        ("89",),
        "forbidden",
        "A French premium-rate special number starting with 089 may not be the caller ID of a voice call",
        SPECIAL_NUMBERS,
    ),
)

NUMBER_AUTHENTICATION = Rule(
    FRENCH_REGIONS,
    ("",),
    "forbidden",
    "A French number held at another operator, even verified as a Twilio caller ID, cannot be authenticated by "
    "Twilio, and French operators cut the calls that present it; only a French number bought at Twilio may be "
    "the caller ID of calls to French networks",
    NUMBER_AUTHENTICATION_SOURCE,
)

NOT_ASSESSED = Assessment(
    "not_assessed",
    "No rule of RobotAppel's automated-calling table covers this number "
    "(it covers French numbers, metropolitan and overseas, except short numbers).",
)


def assess(e164: str, *, verified_caller_id: bool = False) -> Assessment:
    """Whether an automated calling system may present `e164` as its caller ID, and the rule that says so.

    `verified_caller_id`: the number is a client phone (held at another operator), not a number bought at Twilio.
    """
    import phonenumbers

    number = _parse(e164)
    if not phonenumbers.is_valid_number(number):
        return NOT_ASSESSED
    region = phonenumbers.region_code_for_number(number)
    national = phonenumbers.national_significant_number(number)
    matches = [
        (len(prefix), rule)
        for rule in RULES
        if region in rule.regions
        for prefix in rule.prefixes
        if national.startswith(prefix)
    ]
    if not matches:
        return NOT_ASSESSED
    _, rule = max(matches, key=lambda match: match[0])
    if verified_caller_id and rule.status == "allowed" and region in NUMBER_AUTHENTICATION.regions:
        rule = NUMBER_AUTHENTICATION  # allowed by its range, yet cut on French networks
    return Assessment(rule.status, rule.sentence)


def _parse(e164: str) -> "PhoneNumber":
    import phonenumbers

    try:
        return phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException as error:
        raise ValueError(f"{e164!r} is not an E.164 phone number") from error
