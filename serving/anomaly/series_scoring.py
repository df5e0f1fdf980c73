"""``lakehouse score anomaly SERIES.csv --out SCORES.csv``: the champion detector over one series, in this process.

Runs exactly what the live scorer runs for a device of the file's cadence: the champion's settings
(``params_for(None, the file's median cadence)``) and ``detector.score`` over the readings in order (through
``score_series``). So a series replayed through the gateway (whose device model gets the file's cadence) and the
same file scored here give the same scores.

Writes ``timestamp,value,anomaly_score,alert`` per row. A row that cannot be a reading (missing field, a timestamp
or value that does not parse, a value that is not finite, a timestamp not after the previous reading's) is reported
with its line number and left out, as the live scorer would skip it; it never stops the run.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from lakehouse.settings import Settings
from models.anomaly.detector import reading_epoch_seconds

OUTPUT_COLUMNS = ("timestamp", "value", "anomaly_score", "alert")


class SeriesError(ValueError):
    """The file cannot be scored at all (a column is missing, or no row is a reading)."""


@dataclass
class Series:
    texts: list[str] = field(default_factory=list)  # each timestamp as the file wrote it
    times: list[datetime] = field(default_factory=list)  # aware, UTC
    values: list[float] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 (``T`` or a space, optional fraction and zone; ``Z`` is UTC); a time without zone is UTC."""
    parsed = datetime.fromisoformat(text.strip())
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def read_series(source: TextIO, timestamp_column: str = "timestamp", value_column: str = "value") -> Series:
    """The readings of a CSV file with a header, in file order, and the rows that are not readings."""
    reader = csv.DictReader(source)
    header = reader.fieldnames or []
    missing = [name for name in (timestamp_column, value_column) if name not in header]
    if missing:
        columns = ", ".join(header) or "none (the file is empty)"
        raise SeriesError(f"the input has no column {', '.join(map(repr, missing))}; its columns: {columns}")
    series, last = Series(), -math.inf
    line = reader.line_num + 1
    for row in reader:
        reason, parsed = _reading(row, timestamp_column, value_column)
        if reason is None:
            now = reading_epoch_seconds(parsed[0])
            if now <= last:
                reason = f"timestamp {row[timestamp_column]!r} is not after the previous reading's"
            else:
                last = now
                series.texts.append(row[timestamp_column])
                series.times.append(parsed[0])
                series.values.append(parsed[1])
        if reason is not None:
            series.bad.append((line, reason))
        line = reader.line_num + 1
    return series


def _reading(row: dict[str, str | None], timestamp_column: str, value_column: str) -> tuple[str | None, tuple]:
    stamp, value = row.get(timestamp_column), row.get(value_column)
    if stamp is None or value is None:
        return "too few fields", ()
    try:
        ts = parse_timestamp(stamp)
    except ValueError:
        return f"timestamp {stamp!r} is not an ISO 8601 time", ()
    try:
        number = float(value)
    except ValueError:
        return f"value {value!r} is not a number", ()
    if not math.isfinite(number):
        return f"value {value!r} is not a finite number", ()
    return None, (ts, number)


def score_file(settings: Settings, source: TextIO, output: Path, timestamp_column: str, value_column: str) -> Series:
    """Score ``source`` with the champion into ``output`` (replaced at the end: a failed run leaves none)."""
    from lakehouse.mlflow_store import configure_mlflow
    from models.anomaly.detector import score_series
    from models.anomaly.fitted import series_cadence
    from models.anomaly.registry import load_champion_params

    series = read_series(source, timestamp_column, value_column)
    if not series.times:
        first = "; ".join(f"line {line}: {reason}" for line, reason in series.bad[:5])
        raise SeriesError(f"no row of the input is a reading{': ' + first if first else ''}")
    configure_mlflow(settings)
    champion = load_champion_params(settings)
    params = champion.params_for(None, series_cadence(series.times))
    print(
        f"scoring with iot_anomaly version {champion.model_version}: "
        f"cadence {params.sampling_seconds:g}s, threshold {params.threshold:g}",
        file=sys.stderr,
        flush=True,
    )
    scored = score_series(params, series.times, series.values)
    partial = output.with_name(f".{output.name}.partial")
    try:
        with partial.open("w", newline="", encoding="utf-8") as sink:
            writer = csv.writer(sink)
            writer.writerow(OUTPUT_COLUMNS)
            for text, value, anomaly_score, alert in zip(
                series.texts, series.values, scored["anomaly_score"], scored["alert"], strict=True
            ):
                writer.writerow([text, repr(value), repr(float(anomaly_score)), int(alert)])
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return series


def register(models: argparse._SubParsersAction) -> None:
    """Add ``score anomaly`` to ``lakehouse score``."""
    parser = models.add_parser("anomaly", help="anomaly score and alert of each reading of a time series")
    parser.add_argument("input", type=Path, help="CSV file with a header row: a timestamp and a value column")
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write (replaced when it exists)")
    parser.add_argument("--timestamp-column", default="timestamp", help="default: timestamp")
    parser.add_argument("--value-column", default="value", help="default: value")
    parser.set_defaults(handler=cmd_score_anomaly)


def cmd_score_anomaly(settings: Settings, args: argparse.Namespace) -> int:
    if not args.input.is_file():
        print(f"error: no such file: {args.input}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    with args.input.open(newline="", encoding="utf-8") as source:
        try:
            series = score_file(settings, source, args.out, args.timestamp_column, args.value_column)
        except SeriesError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    for line, reason in series.bad:
        print(f"line {line}: {reason} (row skipped)", file=sys.stderr)
    seconds = time.perf_counter() - started
    bad = f", {len(series.bad):,} bad rows reported above and left out" if series.bad else ""
    print(f"wrote {len(series.times):,} scores to {args.out} in {seconds:.1f}s{bad}")
    return 0
