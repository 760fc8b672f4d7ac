"""The tag in a Twilio FriendlyName that names the record a number or caller ID belongs to."""

from robotappel.twilio.tags import MAX_FRIENDLY_NAME, record_id_of, tagged


def test_a_tagged_name_gives_back_its_record_id() -> None:
    # Given the FriendlyName given to Twilio for a record
    name = tagged("tn_018f2a3b4c5d0123456789", "Front desk")
    # When it is read back
    # Then it names the record
    assert record_id_of(name) == "tn_018f2a3b4c5d0123456789"


def test_a_tagged_name_fits_twilios_limit() -> None:
    # Given a long friendly name
    # When it is tagged
    name = tagged("cp_018f2a3b4c5d0123456789", "x" * 200)
    # Then it is cut to Twilio's 64 characters, the tag kept whole
    assert len(name) == MAX_FRIENDLY_NAME
    assert record_id_of(name) == "cp_018f2a3b4c5d0123456789"


def test_a_name_without_our_tag_is_not_ours() -> None:
    # Given FriendlyNames Twilio holds for resources created elsewhere
    # Then none of them names a record
    assert [record_id_of(name) for name in ("Front desk", "ra:", "ra: x", "(415) 555-0100", None)] == [None] * 5
