from collections.abc import Iterator

import pytest
from pydantic import HttpUrl

from robotappel.api.resolver import create_app
from robotappel.config import VERIFICATION_COUNTRIES, ConfigurationError, Settings, get_settings
from robotappel.tokens.costs import cost_of, route_costs

# What template.yaml always sets: the tables and the Twilio secret.
REQUIRED = {
    "NUMBERS_TABLE": "robotappel-numbers-dev",
    "TOKENS_TABLE": "robotappel-tokens-dev",
    "API_KEYS_TABLE": "robotappel-api-keys-dev",
    "IDEMPOTENCY_TABLE": "robotappel-idempotency-dev",
    "TWILIO_SECRET_ID": "arn:aws:secretsmanager:eu-west-3:123456789012:secret:robotappel/twilio-dev-AbCdEf",
}


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Only the required variables set, and no settings cached before or after the test."""
    for field in Settings.model_fields:
        monkeypatch.delenv(field.upper(), raising=False)
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
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


@pytest.mark.parametrize("variable", sorted(REQUIRED))
def test_a_missing_required_variable_fails_naming_it(environment: pytest.MonkeyPatch, variable: str) -> None:
    # Given the environment without one variable the template always sets
    environment.delenv(variable)
    # When the settings are read, then a configuration error names the variable
    with pytest.raises(ConfigurationError, match=f"{variable}: Field required"):
        get_settings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TOKEN_COSTS", '{"x": "many"}'),
        ("TOKEN_COSTS", '{"GET /tokens/balance": -1}'),
        ("TOKEN_COSTS", "not json"),
        ("INBOUND_VOICE_URL", "not a url"),
        ("PUBLIC_BASE_URL", "api.example.com/v1"),
        ("TWILIO_API_BASE_URL", "localhost:4010"),
        ("TWILIO_NUMBERS_BASE_URL", "localhost:4010"),
        ("NUMBERS_TABLE", ""),
        ("TOKENS_TABLE", "tokens table"),
        ("TWILIO_SECRET_ID", ""),
        ("VOICE_URL_HOSTS", "voice.example.com/path"),
        ("VERIFICATION_COUNTRIES", "FR,France"),
    ],
)
def test_a_malformed_value_fails_naming_its_variable(
    environment: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    # Given a variable the settings cannot accept
    environment.setenv(variable, value)
    # When the settings are read, then a configuration error names the variable
    with pytest.raises(ConfigurationError, match=f"{variable}: "):
        get_settings()


def test_optional_variables_take_their_defaults_when_absent() -> None:
    # Given only the required variables (the fixture), when the settings are read
    settings = get_settings()
    # Then every optional field has its default
    assert settings.token_costs == {}
    assert settings.inbound_voice_url == HttpUrl("https://voice.robotappel.com/twilio/inbound")
    assert settings.public_base_url == ""
    assert settings.twilio_api_base_url == ""
    assert settings.twilio_numbers_base_url == ""


def test_voice_url_hosts_default_to_the_inbound_voice_webhooks_host(environment: pytest.MonkeyPatch) -> None:
    # Given a stage that sets its inbound voice webhook and no allow-list
    environment.setenv("INBOUND_VOICE_URL", "https://ivr.example.com/inbound")
    environment.setenv("VOICE_URL_HOSTS", "")
    # When the settings are read, then a voiceUrl may only name that webhook's host
    assert get_settings().allowed_voice_url_hosts == {"ivr.example.com"}


def test_voice_url_hosts_are_a_comma_separated_list_in_any_case(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("VOICE_URL_HOSTS", "Voice.Example.com, ivr.example.com")
    assert get_settings().allowed_voice_url_hosts == {"voice.example.com", "ivr.example.com"}


def test_verification_countries_are_a_comma_separated_list_empty_meaning_the_default(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("VERIFICATION_COUNTRIES", "fr, de")
    assert get_settings().verification_countries == ("FR", "DE")
    environment.setenv("VERIFICATION_COUNTRIES", "")
    get_settings.cache_clear()
    assert get_settings().verification_countries == VERIFICATION_COUNTRIES


def test_unrelated_variables_are_ignored(environment: pytest.MonkeyPatch) -> None:
    # Given variables of Lambda's and of Powertools' in the environment
    environment.setenv("AWS_REGION", "eu-west-3")
    environment.setenv("POWERTOOLS_SERVICE_NAME", "phone-numbers")
    # When the settings are read, then they are the required ones and the defaults
    assert get_settings() == Settings.model_validate({name.lower(): value for name, value in REQUIRED.items()})


def test_a_cost_override_of_a_known_route_replaces_its_cost(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("TOKEN_COSTS", '{"POST /phoneNumber/buyTwilioNumberAndActivate": 50}')
    assert cost_of("POST /phoneNumber/buyTwilioNumberAndActivate") == 50
    assert cost_of("POST /phoneNumber/addClientPhone") == 10


def test_a_cost_override_naming_no_route_fails_naming_token_costs(environment: pytest.MonkeyPatch) -> None:
    # Given an override keyed by the operation's name instead of its route key (the old template example)
    environment.setenv("TOKEN_COSTS", '{"buyTwilioNumberAndActivate": 50}')
    # When the costs are read, then the deployment is refused, naming TOKEN_COSTS and the unknown key
    with pytest.raises(ConfigurationError, match=r"TOKEN_COSTS .*buyTwilioNumberAndActivate"):
        route_costs()


def test_an_unknown_route_has_no_cost_rather_than_being_free() -> None:
    with pytest.raises(KeyError):
        cost_of("GET /nowhere")


def test_a_route_function_fails_its_init_when_misconfigured(environment: pytest.MonkeyPatch) -> None:
    # Given a deployment whose function lacks its tokens table
    environment.delenv("TOKENS_TABLE")
    # When the function's module builds its app (Lambda's init), then the init fails naming the variable
    with pytest.raises(ConfigurationError, match="TOKENS_TABLE"):
        create_app()
