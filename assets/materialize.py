"""A run of selected assets in this project's Dagster instance (it shows in the UI like any other), optionally over
a range of days: the backfill of daily gold tables. `lakehouse materialize` runs this module as its own process
(``python -m assets.materialize SELECTION [--from DAY --to DAY]``), with the project's Dagster environment.

Without days, every selected asset is built whole, daily gold tables included (every day they hold). Dagster's
own ``dagster asset materialize`` refuses that for partitioned assets, and its ``--partition-range`` over every
partition records one materialisation per day and asset (a thousand days cost about 45 s of bookkeeping per
asset here), so the main job and the kill suites run through this instead.

With days the run carries Dagster's partition-range tags, as a single-run backfill from the UI does: daily gold
tables rebuild those days only, every other selected asset runs as usual.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date

from dagster import (
    AssetSelection,
    DagsterInstance,
    Definitions,
    JobDefinition,
    build_reconstructable_job,
    define_asset_job,
    execute_job,
)

# Dagster's own tags for a single-run backfill over a partition range (dagster._core.storage.tags).
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def range_tags(first: date, last: date) -> dict[str, str]:
    """The run tags for the days ``first`` to ``last``, both included."""
    if last < first:
        raise ValueError(f"--to {last} is before --from {first}")
    return {RANGE_START: first.isoformat(), RANGE_END: last.isoformat()}


def parse_selection(text: str) -> AssetSelection:
    """A selection as ``dagster asset materialize --select`` reads it: comma-separated clauses (asset keys, or
    Dagster's selection syntax such as ``group:chat`` or ``not group:anomaly and not group:sentiment``), joined."""
    return AssetSelection.from_coercible(text.split(","))


JOB_NAME = "lakehouse_materialize"


def selection_job(selection: str) -> JobDefinition:
    """Every asset and check of the code location, as one job over ``selection`` with the project's executor."""
    from assets.definitions import defs

    everything = [*defs.assets, *defs.asset_checks]
    job = define_asset_job(JOB_NAME, selection=parse_selection(selection), executor_def=defs.executor)
    return Definitions(jobs=[job], assets=everything, resources=defs.resources).resolve_job_def(JOB_NAME)


def materialize_selection(selection: str, days: tuple[date, date] | None = None) -> bool:
    """Run ``selection`` (Dagster's selection syntax) in this process; True when every step succeeded. The code
    location reads the settings from the environment (``DAGSTER_HOME`` and the ``LAKEHOUSE_*`` variables).

    Through ``execute_job``, not ``materialize``: the latter always runs one step at a time (Dagster's in-process
    executor), where the project's executor overlaps the Spark steps (assets/core/executor.py)."""
    tags = range_tags(*days) if days else {}
    job = build_reconstructable_job("assets.materialize", "selection_job", (selection,))
    with DagsterInstance.get() as instance:
        result = execute_job(job, instance=instance, tags=tags, raise_on_error=False)
        return result.success


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day (YYYY-MM-DD)") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lakehouse materialize", description=__doc__.splitlines()[0])
    parser.add_argument("selection", help="Dagster asset selection, e.g. 'chat/gold/room_activity_daily'")
    parser.add_argument("--from", dest="first", type=_day, help="first day to rebuild (YYYY-MM-DD, UTC)")
    parser.add_argument("--to", dest="last", type=_day, help="last day to rebuild, included (default: --from)")
    args = parser.parse_args(argv)
    if args.last and not args.first:
        parser.error("--to needs --from")
    days = (args.first, args.last or args.first) if args.first else None
    if days and days[1] < days[0]:
        parser.error(f"--to {days[1]} is before --from {days[0]}")
    ok = materialize_selection(args.selection, days)
    print(f"materialised {args.selection}" if ok else f"error: the run of {args.selection} failed (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
