#!/usr/bin/env bash
# Prints the path of a Python of the given version (3.13): PYTHON if set, else python3.13 on PATH, else pyenv's.
# Fails saying what to install when there is none.
set -euo pipefail
version=$1
is_version() {
  "$1" -c "import sys; sys.exit('%d.%d' % sys.version_info[:2] != '$version')" 2>/dev/null
}
if [[ -n "${PYTHON:-}" ]]; then
  if is_version "$PYTHON"; then echo "$PYTHON"; exit 0; fi
  echo "PYTHON=$PYTHON is not Python $version" >&2
  exit 1
fi
# A pyenv shim is on PATH whether or not the version is active: each candidate is run, not just found.
for candidate in "python$version" "$(pyenv prefix "$version" 2>/dev/null || true)/bin/python$version"; do
  if path=$(command -v "$candidate") && is_version "$path"; then echo "$path"; exit 0; fi
done
cat >&2 <<MSG
Python $version not found. Install it, then run make again:
  pyenv install $version        # or: uv python install $version; apt install python$version-venv (deadsnakes)
or name one: make PYTHON=/path/to/python$version ...
MSG
exit 1
