#!/usr/bin/env bash
# The second command of the README: lint, then every test (integration tests find or start the local stack).
# Pass pytest options through, e.g. `./test.sh -m "not integration"` for the fast set.
set -euo pipefail
cd "$(dirname "$0")"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/pytest "$@"
