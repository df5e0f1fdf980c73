"""The small plots in asset metadata: rows per day of a table's first date or timestamp column (latest days, as a
Markdown bar chart), and a silver run's quarantine rate (a number Dagster plots across runs)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from assets.core.lake import flow_metadata
from assets.core.metadata import delta_table_metadata, rows_per_day
from pipelines.core.incremental import FlowReport


def test_rows_per_day_counts_the_latest_days_with_bars_to_scale(tmp_path):
    path = str(tmp_path / "orders")
    day0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
    times = [day0 + timedelta(days=d) for d in range(20) for _ in range(d + 1)]  # day d holds d + 1 rows
    write_deltalake(path, pa.table({"order_id": [str(n) for n in range(len(times))], "placed_at": times}))

    chart = rows_per_day(DeltaTable(path), days=3)["rows_per_day"].value
    rows = [line for line in chart.splitlines() if line.startswith("| 2026")]
    assert [line.split(" | ")[:2] for line in rows] == [
        ["| 2026-11-18", "18"],
        ["| 2026-11-19", "19"],
        ["| 2026-11-20", "20"],
    ]
    assert rows[-1].count("█") == 30 and rows[0].count("█") == 27 and "`placed_at`" in chart
    assert "rows_per_day" in delta_table_metadata(DeltaTable(path), path)


def test_no_chart_without_a_time_column_or_rows(tmp_path):
    write_deltalake(str(tmp_path / "a"), pa.table({"k": ["x"]}))
    write_deltalake(str(tmp_path / "b"), pa.table({"at": pa.array([], pa.timestamp("us", "UTC"))}))
    assert rows_per_day(DeltaTable(str(tmp_path / "a"))) == {}
    assert rows_per_day(DeltaTable(str(tmp_path / "b"))) == {}


def test_the_quarantine_rate_is_refused_records_over_records_read():
    first = FlowReport(reasons=Counter({"invalid JSON": 2}), records=10)
    second = FlowReport(reasons=Counter({"unknown event type x v9": 1}), records=10)
    first.add(second)
    assert first.quarantine_rate == 3 / 20
    assert flow_metadata(first, "orders")["quarantine_rate_this_run"].value == 0.15
    assert FlowReport().quarantine_rate == 0.0


def test_a_gold_date_column_is_charted_too(tmp_path):
    path = str(tmp_path / "daily")
    days = [date(2026, 11, 1), date(2026, 11, 1), date(2026, 11, 2)]
    write_deltalake(path, pa.table({"date": pa.array(days, pa.date32()), "revenue": [1.0, 2.0, 3.0]}))
    chart = rows_per_day(DeltaTable(path))["rows_per_day"].value
    assert "| 2026-11-01 | 2 |" in chart and "| 2026-11-02 | 1 |" in chart and "`date`" in chart
