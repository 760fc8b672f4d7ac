from robotappel.dal import ledger
from tests.fixtures.lambdas import call


def test_balance_returns_the_callers_org_and_tokens(org: str) -> None:
    # Given org-a holds 100 tokens
    # When it asks for its balance
    result = call("get_token_balance", org=org)
    # Then it gets them, and the free route charged nothing
    assert result.status == 200
    assert result.body == {"orgId": "org-a", "balance": 100}
    assert ledger.get_balance(org) == 100


def test_balance_of_an_org_without_account_is_zero(aws: dict[str, str]) -> None:
    # Given an org that never got tokens / When it asks / Then its balance is 0
    assert call("get_token_balance", org="org-new").body == {"orgId": "org-new", "balance": 0}
