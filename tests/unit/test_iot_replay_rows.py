"""Replay's reading of a ``timestamp,value`` file: good rows keep their line as seq, each bad row is named with its
line and reason; the cadence is the median step; unpaced batches respect the batch size and keep every row."""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.iot.replay import SeriesRow, cadence_seconds, paced_batches, parse_series

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_good_rows_parse_with_their_line_and_bad_rows_are_named_with_line_and_reason() -> None:
    lines = [
        "timestamp,value",
        "2013-07-04 00:00:00,69.88",
        "2013-07-04 01:00:00,abc",
        "not a time,1.0",
        "2013-07-04 03:00:00,nan",
        "2013-07-04 04:00:00",
        "2030-01-01 00:00:00,1.0",
        "2013-07-04 06:00:00,-3",
    ]
    rows, problems = parse_series(lines, now=NOW)
    assert rows == [
        SeriesRow(2, datetime(2013, 7, 4, 0, tzinfo=UTC), 69.88),
        SeriesRow(8, datetime(2013, 7, 4, 6, tzinfo=UTC), -3.0),
    ]
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 4", "line 5", "line 6", "line 7"]
    assert "not a number" in problems[0] and "not a valid timestamp" in problems[1] and "not finite" in problems[2]
    assert "expected 2 fields" in problems[3] and "future" in problems[4]


def test_a_file_without_the_header_is_refused_on_line_1() -> None:
    rows, problems = parse_series(["2013-07-04 00:00:00,1.0"], now=NOW)
    assert rows == [] and problems[0].startswith("line 1: expected the header")


def test_the_cadence_is_the_median_step() -> None:
    times = ["00:00", "00:05", "00:10", "00:15", "01:15", "01:20"]
    rows = [SeriesRow(i, datetime.fromisoformat(f"2014-01-01T{t}:00+00:00"), 0.0) for i, t in enumerate(times)]
    assert cadence_seconds(rows) == 300
    assert cadence_seconds(rows[:1]) == 60  # nothing to measure: a minute


def test_unpaced_batches_hold_at_most_the_batch_size_and_every_row_in_order() -> None:
    rows = [SeriesRow(i, datetime(2014, 1, 1, tzinfo=UTC), float(i)) for i in range(2, 2503)]
    batches = list(paced_batches(rows, speed=0, batch_size=1000))
    assert [len(b) for b in batches] == [1000, 1000, 501]
    assert [r for b in batches for r in b] == rows
