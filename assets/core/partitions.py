"""Days in Dagster: daily gold tables are partitioned by day, so a day (or a range of days) can be rebuilt alone
from the UI's Materialize/backfill dialog or the CLI, and one run rebuilds a whole range (single-run backfills:
one Spark job for thirty days, not thirty runs).

Every asset the kit builds carries the single-run policy, partitioned or not: Dagster's own CLI takes a partition
range only when every selected asset has it, so `dagster asset materialize --partition-range` also works on a
selection mixing silver flows and daily gold (`lakehouse materialize --from --to` does not need it).
"""

from collections.abc import Iterable
from datetime import date

from dagster import BackfillPolicy, DailyPartitionsDefinition

# The first day gold is partitioned from. Generated histories and test data start after it; older rows (a NAB
# series of 2013-14 replayed with its own timestamps) are still in gold, built by unpartitioned runs, which rebuild
# every day, but have no Dagster partition of their own.
FIRST_DAY = "2024-01-01"
# Today is a partition too (end_offset=1): the day still filling is what people look at.
DAILY = DailyPartitionsDefinition(start_date=FIRST_DAY, end_offset=1, timezone="UTC")
SINGLE_RUN = BackfillPolicy.single_run()


def requested_days(context) -> tuple[date, date] | None:
    """The days ``first`` ≤ day < ``end`` a run asks for, or None for every day: a run without a partition (the
    main job, the domain jobs, in-process tests) or one whose range is the whole definition."""
    if not partitioned_run(context):
        return None
    keys = context.partition_key_range
    everything = DAILY.get_first_partition_key(), DAILY.get_last_partition_key()
    if (keys.start, keys.end) == everything:
        return None
    window = context.partition_time_window
    return window.start.date(), window.end.date()


def partitioned_run(context) -> bool:
    """Whether the run names a day or a range of days (a run without one builds a daily table whole)."""
    return context.has_partition_key or context.has_partition_key_range


def partition_days(days: Iterable[date]) -> list[str]:
    """The partition keys of ``days`` that have a partition (days before FIRST_DAY or after today have none)."""
    first, last = DAILY.get_first_partition_key(), DAILY.get_last_partition_key()
    return sorted(key for key in {day.isoformat() for day in days} if first <= key <= last)
