#!/usr/bin/env bash
# The first command of the README: set everything up, start the local stack, run the main job end to end.
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
exec .venv/bin/lakehouse run "$@"
