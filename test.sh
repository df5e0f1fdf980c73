#!/usr/bin/env bash
# The second command of the README: lint, then every test (integration tests find or start the local stack).
# Two workers: the stack's tests run one after another on one, the Spark-only tests on the other (tests/conftest.py).
# Pass pytest options through, e.g. `./test.sh -m "not integration"` for the fast set, `-n 0` for one process.
set -euo pipefail
cd "$(dirname "$0")"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/pytest -n "${LAKEHOUSE_TEST_WORKERS:-2}" --dist loadgroup "$@"
