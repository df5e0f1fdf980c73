"""What the gateway accepts as a batch of readings, and how an accepted batch becomes messages.

Validation is lean and manual (a few checks per reading, no model per reading): at thousands of readings a second
per core, pydantic objects for each reading would cost more than the rest of the gateway. The whole batch is refused
when any reading is bad, with every bad reading listed by index: a device fixes and resends one batch instead of
tracking which of its readings got through. A batch bigger than one message should carry is split into chunks of at
most ``CHUNK_READINGS``, each with an id derived from the batch's, so a retry of the batch repeats every chunk's id.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ingest.iot.contract import SENSOR, reading_id
from ingest.iot.telemetry_io import Reading, iso_utc

CHUNK_READINGS = 1000
MAX_FUTURE = timedelta(minutes=5)  # a device clock a little ahead is tolerated; the future is not
MAX_SEQ = 2**63 - 1  # Cassandra's bigint
BATCH_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
SENSOR_NAME = re.compile(SENSOR)
BODY_FIELDS = frozenset({"batch_id", "readings"})
READING_FIELDS = frozenset({"sensor", "ts", "value", "seq"})
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class BatchRefused(Exception):
    """The batch was refused as a whole: ``status`` 413 (too many readings) or 422, each problem named."""

    status: int
    problems: tuple[str, ...]

    def __str__(self) -> str:
        return "; ".join(self.problems)


@dataclass(frozen=True)
class AcceptedBatch:
    batch_id: str  # the client's, or the content's hash
    readings: list[Reading]


def accept_batch(
    device_id: str,
    body: Any,
    *,
    accepted_at: datetime,
    max_batch: int,
    sensors: Collection[str] | None = None,
) -> AcceptedBatch:
    """The batch in a request ``body`` (parsed JSON), or BatchRefused listing every problem.

    ``sensors``: the sensors of the device's model (None: any well-formed sensor name is accepted).
    """
    items, batch_id = _body_parts(body, max_batch)
    latest = accepted_at + MAX_FUTURE
    readings: list[Reading] = []
    problems: list[str] = []
    first_of: dict[str, int] = {}  # reading id -> index: one reading twice in a batch is a device's bug
    for index, item in enumerate(items):
        reading = _reading(device_id, item, latest, sensors)
        if isinstance(reading, dict) and first_of.setdefault(reading["reading_id"], index) != index:
            reading = f"repeats readings[{first_of[reading['reading_id']]}] (reading id {reading['reading_id']})"
        if isinstance(reading, str):
            problems.append(f"readings[{index}]: {reading}")
        else:
            readings.append(reading)
    if problems:
        raise BatchRefused(422, tuple(problems))
    return AcceptedBatch(batch_id or content_batch_id(device_id, readings), readings)


def _body_parts(body: Any, max_batch: int) -> tuple[list[Any], str | None]:
    if not isinstance(body, dict):
        raise BatchRefused(422, ("body: expected an object {batch_id?, readings: [...]}",))
    unknown = sorted(set(body) - BODY_FIELDS)
    if unknown:
        raise BatchRefused(422, (f"body: unknown field(s) {', '.join(unknown)}",))
    items, batch_id = body.get("readings"), body.get("batch_id")
    if batch_id is not None and not (isinstance(batch_id, str) and BATCH_ID.match(batch_id)):
        raise BatchRefused(422, ("batch_id: expected 1-128 characters of letters, digits and _ . : -",))
    if not isinstance(items, list) or not items:
        raise BatchRefused(422, ("readings: expected a non-empty list",))
    if len(items) > max_batch:
        raise BatchRefused(413, (f"readings: {len(items)} readings, at most {max_batch} per batch",))
    return items, batch_id


def _reading(device_id: str, item: Any, latest: datetime, sensors: Collection[str] | None) -> Reading | str:
    """The reading as it goes on the wire, or the problem with it."""
    if not isinstance(item, dict):
        return "expected an object {sensor, ts, value, seq?}"
    if item.keys() - READING_FIELDS:
        return f"unknown field(s) {', '.join(sorted(item.keys() - READING_FIELDS))}"
    sensor, seq = item.get("sensor"), item.get("seq")
    if not isinstance(sensor, str) or not SENSOR_NAME.match(sensor):
        return f"sensor {sensor!r} is not a sensor name (lower case, digits, _; at most 32)"
    if sensors is not None and sensor not in sensors:
        return f"sensor {sensor!r} is not one of this device model's sensors ({', '.join(sorted(sensors))})"
    if seq is not None and (type(seq) is not int or not 0 <= seq <= MAX_SEQ):
        return f"seq {seq!r} is not a non-negative integer"
    value = _value(item.get("value"))
    if isinstance(value, str):
        return value
    ts = parse_ts(item.get("ts"))
    if isinstance(ts, str):
        return ts
    if ts > latest:
        return f"ts {iso_utc(ts)} is more than 5 minutes in the future"
    rid = reading_id(device_id, sensor, ts, seq)
    return {"reading_id": rid, "sensor": sensor, "ts": iso_utc(ts), "value": value, "seq": seq}


def _value(raw: Any) -> float | str:
    if type(raw) not in (int, float):  # bool is an int subclass: not a measurement
        return f"value {raw!r} is not a number"
    try:
        value = float(raw)
    except OverflowError:
        return "value is too large"
    return value if math.isfinite(value) else f"value {raw!r} is not finite"


def parse_ts(raw: Any) -> datetime | str:
    """An ISO 8601 text (no offset: UTC) or seconds since the epoch, as an aware datetime; else the problem."""
    try:
        if isinstance(raw, str):
            ts = datetime.fromisoformat(raw)
            ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts
        elif type(raw) in (int, float) and math.isfinite(raw):
            ts = EPOCH + timedelta(seconds=raw)
        else:
            return f"ts {raw!r} is not an ISO 8601 timestamp or epoch seconds"
    except (ValueError, OverflowError):
        return f"ts {raw!r} is not a valid timestamp"
    return ts if ts >= EPOCH else f"ts {raw!r} is before the epoch (1970-01-01)"


def content_batch_id(device_id: str, readings: Sequence[Reading]) -> str:
    """A batch id fixed by what was sent: the same readings retried without a client batch id get the same one."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(device_id.encode())
    for reading in readings:
        digest.update(f"\x1f{reading['reading_id']}\x1e{reading['ts']}\x1e{reading['value']!r}".encode())
    return f"h-{digest.hexdigest()}"


def chunks(batch: AcceptedBatch, size: int = CHUNK_READINGS) -> Iterator[tuple[str, list[Reading]]]:
    """(chunk id, readings) per message: the batch itself when small enough, else ``<batch_id>/<n>`` chunks."""
    if len(batch.readings) <= size:
        yield batch.batch_id, batch.readings
        return
    for number, first in enumerate(range(0, len(batch.readings), size)):
        yield f"{batch.batch_id}/{number}", batch.readings[first : first + size]
