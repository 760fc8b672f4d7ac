import pytest

from robotappel.caller import Caller
from robotappel.config import get_settings
from robotappel.errors import Forbidden
from robotappel.tokens.costs import cost_of


def test_a_member_reads_its_own_org_by_default() -> None:
    assert Caller("org-a", "member").readable_org(None) == "org-a"


def test_a_member_naming_its_own_org_reads_it() -> None:
    assert Caller("org-a", "member").readable_org("org-a") == "org-a"


def test_a_member_naming_another_org_is_forbidden() -> None:
    with pytest.raises(Forbidden):
        Caller("org-a", "member").readable_org("org-b")


def test_an_admin_may_read_another_org() -> None:
    assert Caller("org-admin", "admin").readable_org("org-b") == "org-b"


def test_a_deployment_can_override_a_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given TOKEN_COSTS overriding the buy route
    monkeypatch.setenv("TOKEN_COSTS", '{"POST /phoneNumber/buyTwilioNumberAndActivate": 50}')
    get_settings.cache_clear()
    try:
        # Then that route costs the override and the others keep the contract's cost
        assert cost_of("POST /phoneNumber/buyTwilioNumberAndActivate") == 50
        assert cost_of("POST /phoneNumber/addClientPhone") == 10
    finally:
        get_settings.cache_clear()


def test_an_unknown_route_has_no_cost_rather_than_being_free() -> None:
    with pytest.raises(KeyError):
        cost_of("GET /nowhere")
