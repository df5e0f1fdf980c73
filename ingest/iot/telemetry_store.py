"""Telemetry in Cassandra (``iot_telemetry_by_device``): the rows a batch becomes, and a device's recent readings.

One partition per device and UTC day, newest first. A reading's id is in the clustering key, so writing a batch again
(a redelivered message, a retried or re-imported batch) rewrites the same cells: no duplicates. Cassandra keeps
timestamps to the millisecond; the reading id keeps the device's own precision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from cassandra.cluster import Session
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.query import PreparedStatement

from ingest.iot.contract import TelemetryBatchV1

TABLE = "iot_telemetry_by_device"
INSERT = f"""INSERT INTO {TABLE} (device_id, day, ts, sensor, reading_id, value, seq, batch_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)"""
COLUMNS = "device_id, ts, sensor, value, reading_id, seq, batch_id"
LATEST = f"SELECT {COLUMNS} FROM {TABLE} WHERE device_id = ? AND day = ? LIMIT ?"
BETWEEN = f"SELECT {COLUMNS} FROM {TABLE} WHERE device_id = ? AND day = ? AND ts >= ? AND ts < ?"
RETENTION_DAYS = 30  # the table's TTL: older days are empty
CONCURRENCY = 100
Row = tuple[str, str, datetime, str, str, float, int | None, str]


@dataclass(frozen=True)
class StoredReading:
    device_id: str
    ts: datetime  # UTC, to the millisecond
    sensor: str
    value: float
    reading_id: str
    seq: int | None
    batch_id: str


def day_of(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%d")


def batch_rows(batch: TelemetryBatchV1) -> list[Row]:
    """One row per reading of ``batch``, in the insert statement's column order."""
    device, batch_id = batch.device_id, batch.batch_id
    return [(device, day_of(r.ts), r.ts, r.sensor, r.reading_id, r.value, r.seq, batch_id) for r in batch.readings]


def prepare_insert(session: Session) -> PreparedStatement:
    return session.prepare(INSERT)


def write_rows(session: Session, insert: PreparedStatement, rows: list[Row], concurrency: int = CONCURRENCY) -> None:
    """Write every row, ``concurrency`` requests in flight; raises on the first failure (the caller retries all)."""
    if rows:
        execute_concurrent_with_args(session, insert, rows, concurrency=concurrency, raise_on_first_error=True)


def _stored(row) -> StoredReading:  # noqa: ANN001 - a driver named tuple
    ts = row.ts.replace(tzinfo=UTC)
    return StoredReading(row.device_id, ts, row.sensor, row.value, row.reading_id, row.seq, row.batch_id)


def last_readings(session: Session, device_id: str, n: int, *, now: datetime | None = None) -> list[StoredReading]:
    """The device's ``n`` newest readings (all sensors), newest first: today's partition, then earlier days."""
    day: date = (now or datetime.now(UTC)).astimezone(UTC).date()
    latest = session.prepare(LATEST)
    found: list[StoredReading] = []
    for back in range(RETENTION_DAYS + 1):
        if len(found) >= n:
            break
        rows = session.execute(latest, (device_id, (day - timedelta(days=back)).isoformat(), n - len(found)))
        found += [_stored(row) for row in rows]
    return found


def readings_between(session: Session, device_id: str, start: datetime, end: datetime) -> list[StoredReading]:
    """The device's readings with ``start <= ts < end`` (all sensors), oldest first."""
    between = session.prepare(BETWEEN)
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    found: list[StoredReading] = []
    for offset in range((last - first).days + 1):
        day = (first + timedelta(days=offset)).isoformat()
        rows = list(session.execute(between, (device_id, day, start, end)))
        found += [_stored(row) for row in reversed(rows)]
    return found
