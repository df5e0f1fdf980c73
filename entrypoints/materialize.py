"""`lakehouse materialize SELECTION [--from DAY --to DAY]`: a Dagster run of the selected assets in the project's
instance, optionally only some days of the daily gold tables (a backfill). The run is `assets/materialize.py`, in a
process of its own with the project's Dagster environment, as `dagster` itself would be."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from entrypoints.instances import dagster_environment
from lakehouse.settings import PROJECT_ROOT, Settings


def materialize_command(selection: str, first: str | None = None, last: str | None = None) -> list[str]:
    days = [*(["--from", first] if first else []), *(["--to", last] if last else [])]
    return [sys.executable, "-m", "assets.materialize", selection, *days]


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "materialize", help="run Dagster assets (a selection), optionally only some days of the daily gold tables"
    )
    parser.add_argument(
        "selection", help="Dagster asset selection, e.g. 'chat/gold/room_activity_daily' or 'group:chat'"
    )
    parser.add_argument("--from", dest="first", help="first day to rebuild (YYYY-MM-DD, UTC)")
    parser.add_argument("--to", dest="last", help="last day to rebuild, included (default: --from)")
    parser.set_defaults(handler=cmd_materialize)


def cmd_materialize(settings: Settings, args: argparse.Namespace) -> int:
    command = materialize_command(args.selection, args.first, args.last)
    return subprocess.run(command, cwd=PROJECT_ROOT, env={**os.environ, **dagster_environment(settings)}).returncode
