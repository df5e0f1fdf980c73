"""`lakehouse import iot SERIES.csv --device D`: a recorded series replayed through the gateway as a device's telemetry.

The file is NAB's format (``timestamp,value``, a header line, UTC times such as ``2013-07-04 00:00:00``). The
device is registered if needed, at the ``replay`` site with a ``replay-<sensor>-<cadence>s`` model (the cadence is
the file's median step, which the anomaly model reads). A new device gets a new key; for a device registered
before, the key is given with ``--device-key`` or, without it, a new one is issued with `rotate_device_key`
(which stops its old key: a real device posting as it would be locked out until it gets the new one).

Rows stream as fast as possible (``speed=0``) or at ``speed`` x real time. Past timestamps are fine (only the
future is refused). A row that does not parse (or that the gateway refuses) is reported with its line number and
reason; every good row is sent. Each reading's ``seq`` is its line number, so a re-import repeats every reading id
and duplicates nothing downstream.
"""

from __future__ import annotations

import csv
import math
import statistics
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

from ingest.core.unit_of_work import set_actor
from ingest.iot import registry
from ingest.iot.telemetry_batches import MAX_FUTURE, parse_ts
from ingest.iot.telemetry_client import post_readings
from ingest.iot.telemetry_io import iso_utc
from lakehouse.settings import Settings

SITE = "replay"
ACTOR = "replay"


@dataclass(frozen=True)
class SeriesRow:
    line: int  # in the file (the header is line 1): the reading's seq
    ts: datetime
    value: float


@dataclass
class ReplayTotals:
    rows: int = 0
    accepted: int = 0
    batches: int = 0
    problems: list[str] = field(default_factory=list)  # "line N: why", for each row not accepted


def parse_series(lines: Iterable[str], *, now: datetime) -> tuple[list[SeriesRow], list[str]]:
    """The good rows of a ``timestamp,value`` file and a "line N: why" for each bad one."""
    rows, problems = [], []
    reader = csv.reader(lines)
    header = [name.strip().lower() for name in next(reader, [])]
    if header[:2] != ["timestamp", "value"]:
        return [], [f"line 1: expected the header 'timestamp,value', found {','.join(header)!r}"]
    for line, fields in enumerate(reader, start=2):
        row = _row(line, fields, now)
        if isinstance(row, str):
            problems.append(f"line {line}: {row}")
        else:
            rows.append(row)
    return rows, problems


def _row(line: int, fields: list[str], now: datetime) -> SeriesRow | str:
    if len(fields) != 2:
        return f"expected 2 fields (timestamp,value), found {len(fields)}"
    ts = parse_ts(fields[0].strip())
    if isinstance(ts, str):
        return ts
    if ts > now + MAX_FUTURE:
        return f"ts {iso_utc(ts)} is in the future"
    try:
        value = float(fields[1])
    except ValueError:
        return f"value {fields[1]!r} is not a number"
    return SeriesRow(line, ts, value) if math.isfinite(value) else f"value {fields[1]!r} is not finite"


def cadence_seconds(rows: list[SeriesRow]) -> int:
    """The series' typical step (median), at least a second: the replay model's sampling period."""
    steps = [(b.ts - a.ts).total_seconds() for a, b in zip(rows, rows[1:], strict=False) if b.ts > a.ts]
    return max(1, min(86400, round(statistics.median(steps)))) if steps else 60


def ensure_replay_device(
    conn: psycopg.Connection, device_id: str, sensor: str, sampling_seconds: int, key: str | None, owner_id: str
) -> str:
    """Register the device (and the replay site and model) unless it exists; the key to post with.

    A device registered before keeps its model (if that lacks ``sensor``, the gateway says so).
    """
    issued = None
    if registry.device_model_of(conn, device_id) is None:
        model_id = f"replay-{sensor}-{sampling_seconds}s"
        registry.ensure_site(conn, site_id=SITE, name="Replayed series", timezone="UTC", actor=ACTOR)
        registry.ensure_device_model(
            conn,
            model_id=model_id,
            name=f"Replayed {sensor}",
            sensors=[sensor],
            sampling_seconds=sampling_seconds,
            actor=ACTOR,
        )
        issued = registry.register_device(
            conn,
            device_id=device_id,
            serial=f"replay-{device_id}",
            model_id=model_id,
            site_id=SITE,
            owner_id=owner_id,
            actor=ACTOR,
            key=key,
        )
    return issued or key or registry.rotate_device_key(conn, device_id=device_id, actor=ACTOR)


def paced_batches(rows: list[SeriesRow], speed: float, batch_size: int) -> Iterator[list[SeriesRow]]:
    """Batches of at most ``batch_size`` rows; with ``speed`` > 0, each yielded when its time has come (one batch
    per second of wall time at most)."""
    started, first = time.monotonic(), rows[0].ts if rows else None
    batch: list[SeriesRow] = []
    slot = 0
    for row in rows:
        row_slot = int((row.ts - first).total_seconds() / speed) if speed > 0 and first else 0
        if batch and (len(batch) >= batch_size or row_slot != slot):
            yield batch
            batch = []
        if row_slot != slot:
            slot = row_slot
            time.sleep(max(0.0, started + slot - time.monotonic()))
        batch.append(row)
    if batch:
        yield batch


def replay_rows(
    client: httpx.Client,
    device_id: str,
    key: str,
    sensor: str,
    rows: list[SeriesRow],
    *,
    speed: float = 0,
    batch_size: int = 1000,
) -> ReplayTotals:
    """Post ``rows`` as the device's ``sensor`` readings; what was accepted, and each row refused with its line."""
    totals = ReplayTotals(rows=len(rows))
    for batch in paced_batches(rows, speed, batch_size):
        readings: list[dict[str, Any]] = [
            {"sensor": sensor, "ts": iso_utc(row.ts), "value": row.value, "seq": row.line} for row in batch
        ]
        posted = post_readings(client, device_id, key, readings)
        totals.accepted += posted.accepted
        totals.batches += posted.batches
        totals.problems += [f"line {batch[index].line}: {problem}" for index, problem in posted.rejected]
    return totals


def replay_file(
    settings: Settings,
    client: httpx.Client,
    path: Path,
    device_id: str,
    *,
    sensor: str = "value",
    speed: float = 0,
    key: str | None = None,
    owner_id: str = "u-000001",
) -> ReplayTotals:
    """Register the device if needed and replay ``path`` through the gateway ``client`` talks to."""
    with path.open(newline="") as lines:
        rows, problems = parse_series(lines, now=datetime.now(UTC))
    with psycopg.connect(settings.postgres_url) as conn, conn.transaction():
        set_actor(conn, "iot", ACTOR)
        key = ensure_replay_device(conn, device_id, sensor, cadence_seconds(rows), key, owner_id)
    totals = replay_rows(client, device_id, key, sensor, rows, speed=speed)
    totals.rows += len(problems)
    totals.problems = problems + totals.problems
    return totals


__all__ = ["ReplayTotals", "SeriesRow", "cadence_seconds", "parse_series", "replay_file", "replay_rows"]
