"""A registered fleet's simulated telemetry, streamed through the gateway over HTTP as its devices would send it.

Each device's sensor gets a series from the seeded simulator (`simulate_fleet`) at its model's cadence, over the
last ``days`` days ending now (the gateway refuses the future), with the simulator's labelled faults. Each device
posts its readings in time order, ``batch_size`` at a time; ``clients`` devices post at once. Reading ids come
from the timestamps (no seq), which sit on the cadence's grid: a re-run within the same window repeats the ids of
the readings it already sent, and downstream keeps each once.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pandas as pd

from ingest.iot.fleet import FleetDevice
from ingest.iot.simulator import simulate_fleet
from ingest.iot.telemetry_client import post_readings
from ingest.iot.telemetry_io import iso_utc


@dataclass(frozen=True)
class FleetSeries:
    """``readings``: device_id, sensor, timestamp (UTC), value. ``faults``: device_id, sensor, kind, start, end."""

    readings: pd.DataFrame
    faults: pd.DataFrame


@dataclass
class FeedTotals:
    devices: int = 0
    batches: int = 0
    readings: int = 0
    problems: list[str] = field(default_factory=list)


def fleet_series(devices: Sequence[FleetDevice], *, days: int, seed: int, end: datetime | None = None) -> FleetSeries:
    """One simulated series per (device, sensor), each at its model's cadence, ending at ``end`` (default now)."""
    end = (end or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    readings, faults = [], []
    for cadence in sorted({device.sampling_seconds for device in devices}):
        pairs = [(d.device_id, s) for d in devices if d.sampling_seconds == cadence for s in d.sensors]
        start = pd.Timestamp(end - timedelta(days=days)).floor(f"{cadence}s") + pd.Timedelta(seconds=cadence)
        simulated = simulate_fleet(len(pairs), days, cadence, seed * 1000 + cadence, str(start))
        names = {f"device_{number:03d}": pair for number, pair in enumerate(pairs)}
        device_of, sensor_of = ({k: v[i] for k, v in names.items()} for i in (0, 1))
        for frame, sink in ((simulated.readings, readings), (simulated.faults, faults)):
            renamed = frame.assign(
                sensor=frame["device_id"].map(sensor_of), device_id=frame["device_id"].map(device_of)
            )
            sink.append(renamed)
    frame = pd.concat(readings, ignore_index=True)
    frame["timestamp"] = frame["timestamp"].dt.tz_localize(UTC)
    # A cadence without faults gives an empty frame; pandas warns about concatenating those (their dtypes would
    # stop counting in a later version), so only the non-empty ones are joined.
    fault_frames = [fault for fault in faults if not fault.empty] or faults[:1]
    return FleetSeries(frame[["device_id", "sensor", "timestamp", "value"]], pd.concat(fault_frames, ignore_index=True))


def feed_device(
    client: httpx.Client, device: FleetDevice, key: str, readings: pd.DataFrame, batch_size: int
) -> FeedTotals:
    """Post one device's readings in time order, ``batch_size`` per batch."""
    mine = readings[readings["device_id"] == device.device_id].sort_values("timestamp")
    rows = [
        {"sensor": sensor, "ts": iso_utc(ts.to_pydatetime()), "value": float(value)}
        for sensor, ts, value in zip(mine["sensor"], mine["timestamp"], mine["value"], strict=True)
    ]
    totals = FeedTotals(devices=1)
    for first in range(0, len(rows), batch_size):
        posted = post_readings(client, device.device_id, key, rows[first : first + batch_size])
        totals.batches += posted.batches
        totals.readings += posted.accepted
        totals.problems += [f"{device.device_id}: {problem}" for _, problem in posted.rejected]
    return totals


def feed_fleet(
    client: httpx.Client,
    devices: Sequence[FleetDevice],
    keys: dict[str, str],
    series: FleetSeries,
    *,
    batch_size: int = 500,
    clients: int = 4,
) -> FeedTotals:
    """Every device's readings through the gateway, ``clients`` devices at a time (httpx.Client is thread-safe)."""
    totals = FeedTotals()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        done = pool.map(lambda d: feed_device(client, d, keys[d.device_id], series.readings, batch_size), devices)
        for part in done:
            totals.devices += part.devices
            totals.batches += part.batches
            totals.readings += part.readings
            totals.problems += part.problems
    return totals
