"""GET /phoneNumber/regulatory (free): the org's regulatory defaults, one per country and number type."""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from robotappel.api import caller_of, create_app, lambda_handler
from robotappel.models.twilio_numbers import RegulatoryDefault
from robotappel.numbers.queries import list_regulatory_defaults

app = create_app()


@app.get("/phoneNumber/regulatory")
def list_defaults() -> list[RegulatoryDefault]:
    return list_regulatory_defaults(caller_of(app))


handler = lambda_handler(app)

loading.loaded()
