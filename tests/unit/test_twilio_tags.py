"""The tag in a Twilio FriendlyName that names the stage and the record a number or caller ID belongs to."""

from collections.abc import Iterator

import pytest

from robotappel.config import get_settings
from robotappel.twilio.tags import MAX_FRIENDLY_NAME, record_id_of, tagged
from tests.unit.test_config import REQUIRED

RECORD_ID = "tn_018f2a3b4c5d0123456789"


@pytest.fixture(autouse=True)
def stage(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A stage's settings: the variables template.yaml always sets, STAGE "dev"."""
    for name, value in {**REQUIRED, "STAGE": "dev"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def in_stage(monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    monkeypatch.setenv("STAGE", stage)
    get_settings.cache_clear()


def test_a_tagged_name_gives_back_its_record_id() -> None:
    # Given the FriendlyName given to Twilio for a record
    name = tagged(RECORD_ID, "Front desk")
    # When it is read back
    # Then it names the record
    assert record_id_of(name) == RECORD_ID


def test_a_tagged_name_fits_twilios_limit() -> None:
    # Given a long friendly name
    # When it is tagged
    name = tagged("cp_018f2a3b4c5d0123456789", "x" * 200)
    # Then it is cut to Twilio's 64 characters, the tag kept whole
    assert len(name) == MAX_FRIENDLY_NAME
    assert record_id_of(name) == "cp_018f2a3b4c5d0123456789"


def test_a_tag_names_the_stage_within_twilios_limit_for_the_longest_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the longest stage name the settings allow
    in_stage(monkeypatch, "s" * 12)
    # When a record's resource is tagged
    name = tagged(RECORD_ID, "Front desk")
    # Then the tag names the stage and the record, and fits
    assert name.startswith(f"ra:{'s' * 12}:{RECORD_ID} ")
    assert len(name) <= MAX_FRIENDLY_NAME


def test_a_name_tagged_by_another_stage_is_not_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a resource another stage tagged (one Twilio account shared by two deployments)
    in_stage(monkeypatch, "prod")
    name = tagged(RECORD_ID, "Front desk")
    # When this stage reads its tag
    in_stage(monkeypatch, "dev")
    # Then it names no record of ours
    assert record_id_of(name) is None


def test_a_name_without_our_tag_is_not_ours() -> None:
    # Given FriendlyNames Twilio holds for resources created elsewhere, or tagged before tags named the stage
    names = ("Front desk", "ra:", "ra: x", "(415) 555-0100", None, f"ra:{RECORD_ID} Front desk", "ra:dev: x")
    # Then none of them names a record
    assert [record_id_of(name) for name in names] == [None] * len(names)
