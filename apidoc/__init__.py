"""The whole API's OpenAPI document (openapi.json), built from the route functions and template.yaml.

`python -m apidoc` prints it, `python -m apidoc --write` regenerates the committed openapi.json (`make openapi`);
a unit test fails while the two differ. Not part of the Lambda layer: no function needs it.
"""
