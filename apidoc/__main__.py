"""`python -m apidoc` prints openapi.json as the code generates it; `--write` writes it (`make openapi`)."""

import argparse
import sys

from apidoc.document import DOCUMENT, build, render
from local.template import ROOT


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m apidoc", description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"write {DOCUMENT.name} instead of printing it")
    args = parser.parse_args(argv)
    text = render(build())
    if args.write:
        DOCUMENT.write_text(text)
        print(f"wrote {DOCUMENT.relative_to(ROOT)}", file=sys.stderr)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
