import pytest

from robotappel.caller import Caller
from robotappel.errors import Forbidden


def test_a_member_reads_its_own_org_by_default() -> None:
    assert Caller("org-a", "member").readable_org(None) == "org-a"


def test_a_member_naming_its_own_org_reads_it() -> None:
    assert Caller("org-a", "member").readable_org("org-a") == "org-a"


def test_a_member_naming_another_org_is_forbidden() -> None:
    with pytest.raises(Forbidden):
        Caller("org-a", "member").readable_org("org-b")


def test_an_admin_may_read_another_org() -> None:
    assert Caller("org-admin", "admin").readable_org("org-b") == "org-b"
