import pytest
from pydantic import ValidationError

from robotappel.models.client_phones import AddPhoneNumberDto
from robotappel.models.phone import parse_e164
from robotappel.models.twilio_numbers import InboundParamsDto, UpdatePhoneNumberDto


@pytest.mark.parametrize(
    ("raw", "country", "e164"),
    [
        ("06 12 34 56 78", None, "+33612345678"),
        ("0612345678", "FR", "+33612345678"),
        ("+33 6 12 34 56 78", None, "+33612345678"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("+1 415 555 2671", "FR", "+14155552671"),
    ],
)
def test_numbers_in_any_format_become_e164(raw: str, country: str | None, e164: str) -> None:
    assert parse_e164(raw, country) == e164


@pytest.mark.parametrize("raw", ["", "12", "not a number", "+33 6 12", "0612345678' OR 1=1"])
def test_unparseable_or_invalid_numbers_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="phone number"):
        parse_e164(raw, "FR")


@pytest.mark.parametrize("raw", ["415 555 0100", "12", "not a number"])
def test_a_number_without_plus_that_is_not_french_is_refused_saying_to_write_it_internationally(raw: str) -> None:
    with pytest.raises(
        ValueError, match=r"without a leading \+ it is read as a number of FR; write it in international"
    ):
        parse_e164(raw, None)


def test_a_number_with_plus_that_is_invalid_is_refused_without_the_hint() -> None:
    with pytest.raises(ValueError, match=r"^'\+33 6 12' is not a valid phone number$"):
        parse_e164("+33 6 12", None)


def test_add_dto_parses_the_number_with_its_country() -> None:
    assert AddPhoneNumberDto(phoneNumber="(415) 555-2671", country="us").phoneNumber == "+14155552671"


def test_add_dto_names_phone_number_when_it_is_invalid() -> None:
    with pytest.raises(ValidationError) as error:
        AddPhoneNumberDto(phoneNumber="12")
    assert error.value.errors()[0]["loc"] == ("phoneNumber",)


def test_add_dto_refuses_unknown_fields_and_long_names() -> None:
    with pytest.raises(ValidationError):
        AddPhoneNumberDto(phoneNumber="0612345678", admin=True)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        AddPhoneNumberDto(phoneNumber="0612345678", friendlyName="x" * 65)


def test_french_mobile_numbers_are_refused_naming_number_type() -> None:
    with pytest.raises(ValidationError) as error:
        InboundParamsDto(countryCode="FR", numberType="mobile")
    assert error.value.errors()[0]["loc"] == ("numberType",)


@pytest.mark.parametrize("country", ["GP", "GF", "MQ", "RE", "YT"])
def test_overseas_french_mobile_numbers_are_refused_naming_number_type(country: str) -> None:
    # Given a purchase of mobile numbers of an overseas department (its own ISO code and country code)
    # When it is read
    with pytest.raises(ValidationError) as error:
        InboundParamsDto(countryCode=country, numberType="mobile")
    # Then it is refused as a French mobile
    assert error.value.errors()[0]["loc"] == ("numberType",)


@pytest.mark.parametrize("phone_number", ["+590690123456", "+262692123456", "+594694123456", "+596696123456"])
def test_overseas_french_mobiles_asked_for_by_number_are_refused(phone_number: str) -> None:
    with pytest.raises(ValidationError) as error:
        InboundParamsDto(phoneNumber=phone_number)
    assert error.value.errors()[0]["loc"] == ("phoneNumber",)


@pytest.mark.parametrize("country", ["FR", "GB", "GP"])
def test_an_area_code_outside_the_us_and_canada_is_refused_naming_area_code(country: str) -> None:
    # Given a purchase naming an area code for a country that has none at Twilio
    # When it is read
    with pytest.raises(ValidationError) as error:
        InboundParamsDto(countryCode=country, areaCode="1")
    # Then it is refused naming areaCode, and says where area codes apply
    [problem] = error.value.errors()
    assert problem["loc"] == ("areaCode",)
    assert "US and Canada" in problem["msg"]


@pytest.mark.parametrize("country", ["US", "CA"])
def test_an_area_code_of_the_us_or_canada_is_accepted(country: str) -> None:
    assert InboundParamsDto(countryCode=country, areaCode="415").areaCode == "415"


@pytest.mark.parametrize("contains", ["162******", "77", "RobotAppel", "9475*****"])
def test_twilio_contains_patterns_are_accepted(contains: str) -> None:
    assert InboundParamsDto(contains=contains).contains == contains


@pytest.mark.parametrize("contains", ["7", "162**************", "33-162"])
def test_contains_outside_twilios_2_to_16_characters_is_refused(contains: str) -> None:
    with pytest.raises(ValidationError) as error:
        InboundParamsDto(contains=contains)
    assert error.value.errors()[0]["loc"] == ("contains",)


def test_mobile_numbers_of_other_countries_are_allowed() -> None:
    assert InboundParamsDto(countryCode="GB", numberType="mobile").numberType == "mobile"


def test_inbound_defaults_are_a_french_local_number() -> None:
    dto = InboundParamsDto()
    assert (dto.countryCode, dto.numberType, dto.voiceUrl) == ("FR", "local", None)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("voiceUrl", "http://example.com/voice"),
        ("countryCode", "XX"),
        ("numberType", "premium"),
        ("bundleSid", "XY123"),
        ("phoneNumber", "+1500"),
    ],
)
def test_inbound_params_refuse_bad_values_naming_the_field(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as error:
        InboundParamsDto.model_validate({field: value})
    assert error.value.errors()[0]["loc"][0] == field


def test_update_accepts_an_empty_client_phone_to_unlink() -> None:
    assert UpdatePhoneNumberDto(clientPhoneNumber="").clientPhoneNumber == ""


@pytest.mark.parametrize("contains", ["+33948", "94 8", "9-48"])
def test_buy_dto_refuses_a_contains_pattern_twilio_would_refuse(contains: str) -> None:
    with pytest.raises(ValidationError) as error:
        InboundParamsDto(countryCode="FR", contains=contains)
    assert error.value.errors()[0]["loc"] == ("contains",)


def test_buy_dto_accepts_digits_letters_and_wildcards_in_contains() -> None:
    assert InboundParamsDto(countryCode="FR", contains="948*ROBOT").contains == "948*ROBOT"
