import sys
from pathlib import Path

# The layer's package, as Lambda provides it (/opt/python): the tool runs the same use cases as the routes.
LAYER = Path(__file__).resolve().parent.parent / "layers" / "shared"
if str(LAYER) not in sys.path:
    sys.path.insert(0, str(LAYER))

from robotappel_admin.cli import main  # noqa: E402  # needs the layer on sys.path

main()
