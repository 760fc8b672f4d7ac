"""Which numbers an automated calling system may present as caller ID (Arcep decision 2022-1583), and number types."""

import pytest

from robotappel.models.phone import number_type
from robotappel.numbers.automated_calling import NUMBER_AUTHENTICATION, RULES, assess

METROPOLITAN_RESERVED = [
    "+33162123456",
    "+33163123456",
    "+33270123456",
    "+33271123456",
    "+33377123456",
    "+33378123456",
    "+33424123456",
    "+33425123456",
    "+33568123456",
    "+33569123456",
    "+33948123456",
    "+33949123456",
]
OVERSEAS_RESERVED = {
    "Guadeloupe 09475": "+590947512345",
    "Guyane 09476": "+594947612345",
    "Martinique 09477": "+596947712345",
    "Mayotte 09478": "+262947812345",
    "Réunion 09479": "+262947912345",
}
GEOGRAPHIC_OR_NON_GEOGRAPHIC = {
    "01": "+33123456789",
    "0161 (below 0162)": "+33161123456",
    "0164 (above 0163)": "+33164123456",
    "0269 (below 0270)": "+33269123456",
    "0272 (above 0271)": "+33272123456",
    "03": "+33312345678",
    "04": "+33476123456",
    "05": "+33556123456",
    "09": "+33912345678",
    "09474 (below 09475)": "+33947412345",
    "+33 09475 (the overseas range is not a +33 range)": "+33947512345",
}
OVERSEAS_GEOGRAPHIC_OR_POLYVALENT = {
    "Guadeloupe 0590": "+590590123456",
    "Réunion 0262": "+262262123456",
    "Guadeloupe 0976 polyvalent": "+590976012345",
}
MOBILE = {
    "06": "+33612345678",
    "07": "+33756123456",
    "Guadeloupe 0690": "+590690123456",
    "Réunion 0692": "+262692123456",
    "Guyane 0694": "+594694123456",
    "Martinique 0696": "+596696123456",
}
SPECIAL_ALLOWED = {"0800 toll-free": "+33800123456", "0810 shared cost": "+33810123456", "0806": "+33806123456"}
SPECIAL_FORBIDDEN = {"0890": "+33890123456", "0899": "+33899123456"}
NOT_COVERED = {
    "FR short number": "+333636",
    "US": "+14155552671",
    "GB": "+442079460000",
}


@pytest.mark.parametrize("e164", METROPOLITAN_RESERVED)
def test_metropolitan_numbers_reserved_for_automated_calling_are_allowed(e164: str) -> None:
    # Given a number in one of the metropolitan ranges Arcep reserves for automated calling systems
    # When it is assessed
    assessment = assess(e164)
    # Then an automated calling system may present it, by Arcep's decision
    assert assessment.status == "allowed"
    assert "2022-1583" in assessment.rule


@pytest.mark.parametrize("e164", OVERSEAS_RESERVED.values(), ids=OVERSEAS_RESERVED.keys())
def test_overseas_numbers_09475_to_09479_are_allowed(e164: str) -> None:
    # Given a +590, +594, +596 or +262 number in the overseas range 09475-09479 reserved for automated calling
    # When it is assessed
    assessment = assess(e164)
    # Then it is allowed, under the overseas rule
    assert assessment.status == "allowed"
    assert "09475 to 09479" in assessment.rule


def test_09480_is_allowed_as_part_of_the_metropolitan_0948_range() -> None:
    # Given 09480, just above the overseas range but inside the metropolitan 0948 range
    # When it is assessed
    assessment = assess("+33948012345")
    # Then the metropolitan rule allows it
    assert assessment.status == "allowed"
    assert "0948" in assessment.rule


@pytest.mark.parametrize("e164", GEOGRAPHIC_OR_NON_GEOGRAPHIC.values(), ids=GEOGRAPHIC_OR_NON_GEOGRAPHIC.keys())
def test_other_french_geographic_and_non_geographic_numbers_are_forbidden(e164: str) -> None:
    # Given a French 01-05 or 09 number outside the reserved ranges, boundary neighbours included
    # When it is assessed
    assessment = assess(e164)
    # Then an automated calling system may not present it, by Arcep's decision
    assert assessment.status == "forbidden"
    assert "outside the ranges reserved" in assessment.rule
    assert "2022-1583" in assessment.rule


@pytest.mark.parametrize(
    "e164", OVERSEAS_GEOGRAPHIC_OR_POLYVALENT.values(), ids=OVERSEAS_GEOGRAPHIC_OR_POLYVALENT.keys()
)
def test_overseas_geographic_and_polyvalent_numbers_outside_the_reserved_range_are_forbidden(e164: str) -> None:
    # Given an overseas French landline or polyvalent number outside 09475-09479
    # When it is assessed
    assessment = assess(e164)
    # Then an automated calling system may not present it
    assert assessment.status == "forbidden"
    assert "overseas" in assessment.rule
    assert "2022-1583" in assessment.rule


@pytest.mark.parametrize("e164", MOBILE.values(), ids=MOBILE.keys())
def test_french_mobile_numbers_metropolitan_and_overseas_are_forbidden(e164: str) -> None:
    # Given a French mobile number, metropolitan or overseas
    # When it is assessed
    assessment = assess(e164)
    # Then it is forbidden by Arcep's decision
    assert assessment.status == "forbidden"
    assert "mobile" in assessment.rule
    assert "2022-1583" in assessment.rule


@pytest.mark.parametrize("e164", SPECIAL_ALLOWED.values(), ids=SPECIAL_ALLOWED.keys())
def test_french_special_numbers_080_to_088_are_allowed_by_the_numbering_plan(e164: str) -> None:
    assessment = assess(e164)
    assert assessment.status == "allowed"
    assert "§ 2.2.2" in assessment.rule


@pytest.mark.parametrize("e164", SPECIAL_FORBIDDEN.values(), ids=SPECIAL_FORBIDDEN.keys())
def test_french_premium_rate_numbers_089_are_forbidden_by_the_numbering_plan(e164: str) -> None:
    assessment = assess(e164)
    assert assessment.status == "forbidden"
    assert "089" in assessment.rule
    assert "§ 2.2.2" in assessment.rule


@pytest.mark.parametrize(
    "e164", ["+33162123456", "+590947512345", "+33800123456"], ids=["0162", "overseas 09475", "0800"]
)
def test_a_french_number_verified_as_caller_id_is_forbidden_by_number_authentication(e164: str) -> None:
    # Given a French number its range allows, held at another operator and verified as a Twilio caller ID
    # When it is assessed as such
    assessment = assess(e164, verified_caller_id=True)
    # Then it is forbidden: French operators cut calls presenting a French number Twilio cannot authenticate
    assert assessment.status == "forbidden"
    assert assessment.rule == NUMBER_AUTHENTICATION.sentence
    assert "1 October 2024" in assessment.rule


def test_a_verified_french_mobile_keeps_the_mobile_rule() -> None:
    assert assess("+33612345678", verified_caller_id=True) == assess("+33612345678")


def test_a_verified_caller_id_of_another_country_is_judged_as_any_number() -> None:
    assert assess("+14155552671", verified_caller_id=True).status == "not_assessed"


@pytest.mark.parametrize("e164", NOT_COVERED.values(), ids=NOT_COVERED.keys())
def test_numbers_the_table_does_not_cover_are_not_assessed(e164: str) -> None:
    # Given a number of another country or a short number
    # When it is assessed
    assessment = assess(e164)
    # Then no verdict is given, and the sentence says why
    assert assessment.status == "not_assessed"
    assert "No rule" in assessment.rule


def test_every_rule_sentence_is_one_sentence_naming_its_source() -> None:
    # Given every verdict the table can give
    examples = (
        METROPOLITAN_RESERVED[0],
        OVERSEAS_RESERVED["Réunion 09479"],
        "+33123456789",
        "+33612345678",
        "+33800123456",
        "+14155552671",
    )
    assessments = [assess(e164) for e164 in examples]
    # When their rule sentences are read
    # Then each is one sentence ending with its source in brackets
    for assessment in assessments:
        assert assessment.rule.endswith(").")
        assert assessment.rule.count(". ") == 0


def test_every_rule_has_one_source() -> None:
    # Given the rule table
    # When the sources are read
    # Then each rule names one source, not a list of them
    for rule in (*RULES, NUMBER_AUTHENTICATION):
        assert ";" not in rule.source


def test_no_prefix_belongs_to_two_rules_of_a_region() -> None:
    # Given the rule table
    # When the prefixes of each region are listed
    listed = [(region, prefix) for rule in RULES for region in rule.regions for prefix in rule.prefixes]
    # Then none appears twice, so the longest match is never a tie
    assert len(listed) == len(set(listed))


def test_assessing_something_that_is_not_e164_is_a_value_error() -> None:
    # Given text that phonenumbers cannot parse without a region
    # When it is assessed
    # Then it is refused as a programming error, not judged
    with pytest.raises(ValueError, match=r"not an E\.164"):
        assess("06 12 34 56 78")


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+33162123456", "local"),
        ("+14155552671", "local"),
        ("+33612345678", "mobile"),
        ("+33800123456", "tollFree"),
        ("+33948123456", "national"),
    ],
    ids=["FR geographic", "US (fixed line or mobile)", "FR mobile", "FR toll-free", "FR 09 non-geographic"],
)
def test_number_type_is_the_twilio_type_the_number_really_has(e164: str, expected: str) -> None:
    # Given a number
    # When its type is asked
    # Then phonenumbers' type is told as Twilio's number list
    assert number_type(e164) == expected


@pytest.mark.parametrize("e164", ["+33899123456", "+33810123456", "+333636"], ids=["premium", "shared", "short"])
def test_number_type_is_none_for_numbers_twilio_does_not_sell_as_a_type(e164: str) -> None:
    # Given a premium-rate, shared-cost or invalid number
    # When its type is asked
    # Then there is none
    assert number_type(e164) is None
