#!/usr/bin/env bash
# Installs everything this project needs on a fresh machine: the Python environment (.venv), Debian packages,
# FerretDB (built from the Go module proxy) and every JVM artifact (Maven Central) into ~/.cache/lakehouse.
# Re-running it is fast and changes nothing when all is in place.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v uv >/dev/null 2>&1; then
  echo "setup: installing uv (Python package installer) from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check "uv>=0.5"
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv (Python 3.11)"
  uv venv --quiet .venv --python 3.11
fi
echo "setup: Python packages (pyspark builds its wheel once; uv caches it)"
uv pip install --quiet --python .venv/bin/python -e '.[dev]'
.venv/bin/lakehouse stack install
echo "setup: done"
