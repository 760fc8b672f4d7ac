"""The pass over one of Twilio's lists, as the reconciler keeps it between runs (robotappel.reconcile.walk.Pass):
a cursor kept in a format this version cannot read starts a fresh pass instead of failing the step."""

import json

import pytest

from robotappel.reconcile.walk import Pass, Position

STEP = "caller_ids"


@pytest.mark.parametrize(
    "kept",
    [
        pytest.param(
            "https://api.twilio.com/2010-04-01/Accounts/AC0/OutgoingCallerIds.json?PageSize=50&Page=1&PageToken=PA1",
            id="a bare page URL (before subaccounts)",
        ),
        pytest.param(json.dumps({"account": "AC1", "page": None, "finished": False}), id="a position without its pass"),
        pytest.param(json.dumps(["AC1"]), id="a JSON list"),
        pytest.param('{"pass": "p1", "started"', id="cut short"),
    ],
)
def test_an_unreadable_cursor_starts_a_fresh_pass(kept: str) -> None:
    # Given a cursor kept in a format this version does not write
    # When the step reads it
    listing = Pass.of(kept, STEP)
    # Then it starts a new pass from the very start of the lists
    assert (listing.pages, listing.at) == (0, None)


def test_a_kept_pass_resumes_where_it_stopped() -> None:
    # Given a pass kept after two pages, in the middle of a subaccount's list
    kept = Pass("p1", "2026-12-01T00:00:00Z", 2, Position("AC1", "https://api.twilio.com/next")).kept()
    # When the step reads it
    listing = Pass.of(kept, STEP)
    # Then it goes on with that pass, at that page
    assert listing == Pass("p1", "2026-12-01T00:00:00Z", 2, Position("AC1", "https://api.twilio.com/next"))
