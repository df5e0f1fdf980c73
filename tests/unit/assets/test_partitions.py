"""Which days a run asks of a daily gold asset: a range from the UI or `lakehouse materialize --from --to`, or every
day (no partition, or the whole definition)."""

from __future__ import annotations

from datetime import date

import pytest
from dagster import AssetKey, MaterializeResult, asset, materialize

from assets.core.partitions import DAILY, FIRST_DAY, SINGLE_RUN, partition_days, requested_days
from assets.materialize import parse_selection, range_tags


def test_a_run_asks_for_its_range_or_for_every_day() -> None:
    seen = []

    @asset(partitions_def=DAILY, backfill_policy=SINGLE_RUN)
    def daily(context) -> MaterializeResult:
        seen.append(requested_days(context))
        return MaterializeResult()

    whole = range_tags(
        date.fromisoformat(DAILY.get_first_partition_key()), date.fromisoformat(DAILY.get_last_partition_key())
    )
    assert materialize([daily], tags=range_tags(date(2026, 3, 1), date(2026, 3, 3))).success
    assert materialize([daily], partition_key="2026-03-05").success
    assert materialize([daily]).success
    assert materialize([daily], tags=whole).success
    assert seen == [(date(2026, 3, 1), date(2026, 3, 4)), (date(2026, 3, 5), date(2026, 3, 6)), None, None]


def test_only_days_with_a_partition_are_reported() -> None:
    first = date.fromisoformat(FIRST_DAY)
    days = [date(2014, 2, 19), first, date(2026, 3, 1), date(2026, 3, 1), date(9999, 1, 1)]
    assert partition_days(days) == [FIRST_DAY, "2026-03-01"]


def test_a_range_ends_after_it_starts() -> None:
    with pytest.raises(ValueError, match="before --from"):
        range_tags(date(2026, 3, 2), date(2026, 3, 1))


def test_a_selection_reads_as_dagster_asset_materialize_reads_it() -> None:
    """Comma-separated keys (the kill suites') and Dagster's selection syntax (the main job's) both resolve over the
    project's code location, to the assets they name."""
    from assets.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = "chat/bronze/messages,chat/silver/messages,chat/gold/room_activity_daily"
    assert {key.to_user_string() for key in parse_selection(keys).resolve(graph)} == set(keys.split(","))
    others = parse_selection("not group:sentiment and not group:anomaly and not group:maintenance").resolve(graph)
    assert AssetKey(["iot", "gold", "device_hour_stats"]) in others
    assert not {key for key in others if key.path[0] in ("sentiment", "anomaly")}
