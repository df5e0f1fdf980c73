#!/usr/bin/env bash
# The second command of the README: lint, then every test (integration tests find or start the local stack).
# One process by default. LAKEHOUSE_TEST_WORKERS=2 runs the stack's tests one after another on one worker and the
# Spark-only tests on the other (tests/conftest.py groups them): faster, but measured in CI to slow the services
# under the main-job test enough that its moderation timed out, and the fuzzing test's items escape the group.
# Pass pytest options through, e.g. `./test.sh -m "not integration"` for the fast set.
set -euo pipefail
cd "$(dirname "$0")"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/pytest -n "${LAKEHOUSE_TEST_WORKERS:-0}" --dist loadgroup "$@"
