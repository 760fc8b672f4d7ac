"""PUT /phoneNumber/regulatory/{countryCode} (free): the org's regulatory bundle for purchases in that country.

Checked at Twilio: an unknown or unapproved bundle is refused (422). Purchases that name no bundle nor address
use this default for their country and number type.
"""

from robotappel import loading  # isort: skip  # first: no garbage collection while the function loads

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from robotappel.api import caller_of, create_app, lambda_handler
from robotappel.models.twilio_numbers import RegulatoryDefault, RegulatoryDefaultDto
from robotappel.numbers.regulatory import set_regulatory_default

app = create_app()


@app.put("/phoneNumber/regulatory/<countryCode>")
def set_default(
    countryCode: Annotated[str, Path(min_length=2, max_length=2, examples=["FR"])],
    body: RegulatoryDefaultDto,
) -> RegulatoryDefault:
    return set_regulatory_default(caller_of(app), countryCode, body)


handler = lambda_handler(app)

loading.loaded()
