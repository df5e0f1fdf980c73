"""`lakehouse table history|restore NAME`: a Delta table's commits, and putting it back as it was."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from lakehouse.settings import Settings
from pipelines.core.history import TableError, open_delta, restore_table, streamed_from, table_history


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time, e.g. 2026-12-03T10:15:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def register(commands: argparse._SubParsersAction) -> None:
    table = commands.add_parser("table", help="a Delta table's history, and restoring it to a version or time")
    actions = table.add_subparsers(dest="action", required=True)
    name_help = "<layer>/<table> (silver/ecommerce_orders) or the asset key <domain>/<layer>/<table>"
    history = actions.add_parser("history", help="the table's commits, newest first")
    history.add_argument("name", help=name_help)
    history.add_argument("-n", "--limit", type=int, default=20, help="commits to show (0: all)")
    history.set_defaults(handler=cmd_history)
    restore = actions.add_parser("restore", help="make the table read as it did at a version or time (a new commit)")
    restore.add_argument("name", help=name_help)
    target = restore.add_mutually_exclusive_group(required=True)
    target.add_argument("--version", type=int, help="the version to restore (see `lakehouse table history`)")
    target.add_argument("--timestamp", type=_moment, help="restore the version readers saw then (ISO 8601, UTC)")
    restore.add_argument(
        "--force", action="store_true", help="restore a bronze table even though its silver flows then stop"
    )
    restore.set_defaults(handler=cmd_restore)


def cmd_history(settings: Settings, args: argparse.Namespace) -> int:
    try:
        table = open_delta(settings, args.name)
        commits = table_history(table, args.limit or None)
    except TableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{table.table_uri} (version {table.version()})")
    print(f"{'version':>7}  {'committed (UTC)':19}  {'operation':18}  {'rows':>8}  detail")
    for commit in commits:
        rows = "" if commit.rows_written is None else str(commit.rows_written)
        when = commit.at.strftime("%Y-%m-%d %H:%M:%S")
        print(f"{commit.version:>7}  {when:19}  {commit.operation:18}  {rows:>8}  {commit.detail[:80]}")
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    if streamed_from(args.name) and not args.force:
        print(
            f"error: {args.name} is read as a stream by its silver flows, and a restore that removes rows stops "
            "them (Delta's streaming source refuses such a commit). Restore the silver, gold or features table "
            "instead, or pass --force if you will reset the flows that read it.",
            file=sys.stderr,
        )
        return 2
    try:
        table = open_delta(settings, args.name)
        done = restore_table(table, version=args.version, moment=args.timestamp)
    except TableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"restored {args.name} to version {done.target_version}: now version {done.new_version} "
        f"(was {done.previous_version}; {done.files_removed} files removed, {done.files_restored} restored). "
        f"`lakehouse table restore {args.name} --version {done.previous_version}` undoes it."
    )
    return 0
