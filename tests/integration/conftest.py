from collections.abc import Iterator

import pytest

from tests.fixtures.aws import token_ledger_stream, tokens_table
from tests.fixtures.ledger import assert_ledger_explains_every_balance


@pytest.fixture(autouse=True)
def ledger_explains_every_balance(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every test that used moto's tables: once token_ledger has consumed the stream, the ledger explains
    every org's balance. A test that writes stream records of its own (no balance behind them) opts out with
    `@pytest.mark.ledger_written_by_hand`."""
    checked = "aws" in request.fixturenames and not request.node.get_closest_marker("ledger_written_by_hand")
    if checked:
        request.getfixturevalue("aws")  # set up first, so that moto is still there when this fixture ends
    yield
    if checked:
        token_ledger_stream().deliver()
        assert_ledger_explains_every_balance(tokens_table())
