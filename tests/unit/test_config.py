from collections.abc import Iterator

import pytest
from pydantic import HttpUrl, ValidationError

from robotappel.config import Settings, get_settings


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """None of the settings' variables set, and no settings cached before or after the test."""
    for field in Settings.model_fields:
        monkeypatch.delenv(field.upper(), raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_token_costs_are_read_from_their_json_variable(environment: pytest.MonkeyPatch) -> None:
    # Given TOKEN_COSTS as template.yaml passes it: a JSON object in a string
    environment.setenv("TOKEN_COSTS", '{"GET /tokens/balance": 2, "POST /phoneNumber/addClientPhone": 12}')
    # When the settings are read
    settings = get_settings()
    # Then the costs are a mapping of route keys to integers
    assert settings.token_costs == {"GET /tokens/balance": 2, "POST /phoneNumber/addClientPhone": 12}


def test_variable_names_are_the_upper_cased_field_names_in_any_case(environment: pytest.MonkeyPatch) -> None:
    # Given one variable spelt as the template spells it and one in lower case
    environment.setenv("NUMBERS_TABLE", "numbers")
    environment.setenv("inbound_voice_url", "https://voice.example.com/inbound")
    # When the settings are read
    settings = get_settings()
    # Then both are taken
    assert settings.numbers_table == "numbers"
    assert settings.inbound_voice_url == HttpUrl("https://voice.example.com/inbound")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TOKEN_COSTS", '{"x": "many"}'),
        ("TOKEN_COSTS", "not json"),
        ("INBOUND_VOICE_URL", "not a url"),
    ],
)
def test_an_invalid_value_fails_when_the_settings_are_read(
    environment: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    # Given a variable the settings cannot accept
    environment.setenv(variable, value)
    # When the settings are read, then pydantic refuses them naming the field
    with pytest.raises(ValidationError) as error:
        get_settings()
    assert error.value.errors()[0]["loc"][0] == variable.lower()


def test_defaults_apply_when_the_variables_are_absent() -> None:
    # Given none of the settings' variables (the fixture removes them), when the settings are read
    settings = get_settings()
    # Then every field has its default
    assert settings == Settings()
    assert settings.token_costs == {}
    assert settings.inbound_voice_url == HttpUrl("https://voice.robotappel.com/twilio/inbound")
    assert settings.numbers_table == ""


def test_unrelated_variables_are_ignored(environment: pytest.MonkeyPatch) -> None:
    # Given variables of Lambda's and of Powertools' in the environment
    environment.setenv("AWS_REGION", "eu-west-3")
    environment.setenv("POWERTOOLS_SERVICE_NAME", "phone-numbers")
    # When the settings are read, then they are the defaults
    assert get_settings() == Settings()
