"""A seeded fleet of telemetry devices with labelled faults: the detector's test bench before real devices exist.

Each device has its own level, daily and weekly seasonality, noise and slow drift; some get one or two faults of the
kinds that matter on a real fleet (a spike, a level shift, a stuck sensor, a slow degradation ending in failure),
each labelled with the window in which an alert counts as catching it. The windows come out keyed like NAB's
``labels_windows.json``, with boundaries that are timestamps of the readings, so NAB's scorer accepts them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FAULT_KINDS = ("spike", "level_shift", "stuck", "degradation")
NAB_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


@dataclass(frozen=True)
class SimulatedFleet:
    """``readings``: device_id, timestamp, value. ``faults``: device_id, kind, start, end (inclusive, reading times)."""

    readings: pd.DataFrame
    faults: pd.DataFrame

    def device(self, device_id: str) -> pd.DataFrame:
        return self.readings[self.readings["device_id"] == device_id].reset_index(drop=True)

    def nab_windows(self, prefix: str = "sim") -> dict[str, list[list[str]]]:
        """Label windows as NAB's ``labels_windows.json`` has them: ``{"<prefix>/<device>.csv": [[start, end]]}``."""
        windows: dict[str, list[list[str]]] = {f"{prefix}/{d}.csv": [] for d in self.readings["device_id"].unique()}
        for fault in self.faults.itertuples():
            span = [fault.start.strftime(NAB_TIME_FORMAT), fault.end.strftime(NAB_TIME_FORMAT)]
            windows[f"{prefix}/{fault.device_id}.csv"].append(span)
        return windows


def simulate_fleet(
    devices: int = 8, days: int = 14, sampling_seconds: int = 300, seed: int = 0, start: str = "2024-01-01"
) -> SimulatedFleet:
    """``devices`` devices over ``days`` days; the same seed gives the same fleet, readings and labels."""
    rng = np.random.default_rng(seed)
    times = pd.date_range(start, periods=days * 86400 // sampling_seconds, freq=f"{sampling_seconds}s")
    readings, faults = [], []
    for number in range(devices):
        device_id = f"device_{number:03d}"
        values = _normal_signal(rng, times)
        for kind, first, last in _fault_plan(rng, len(times), sampling_seconds):
            _inject(rng, values, kind, first, last)
            faults.append({"device_id": device_id, "kind": kind, "start": times[first], "end": times[last]})
        readings.append(pd.DataFrame({"device_id": device_id, "timestamp": times, "value": values}))
    fault_columns = ["device_id", "kind", "start", "end"]
    return SimulatedFleet(pd.concat(readings, ignore_index=True), pd.DataFrame(faults, columns=fault_columns))


def _normal_signal(rng: np.random.Generator, times: pd.DatetimeIndex) -> np.ndarray:
    """Level + daily and weekly cycles + drift + autocorrelated noise: a machine metric with no fault."""
    hours = (times - times[0]).total_seconds().to_numpy() / 3600
    level, noise = rng.uniform(20, 80), rng.uniform(0.5, 2.0)
    daily = rng.uniform(2, 10) * np.sin(2 * np.pi * (hours / 24 + rng.uniform()))
    weekend = np.where(times.dayofweek.to_numpy() >= 5, -rng.uniform(0, 6), 0.0)
    drift = rng.normal(0, 0.3) * hours / 24
    shocks = rng.normal(0, noise, len(times))
    ar = np.empty(len(times))  # AR(1) noise: real sensors are not white
    ar[0] = shocks[0]
    for i in range(1, len(times)):
        ar[i] = 0.6 * ar[i - 1] + shocks[i]
    return level + daily + weekend + drift + ar


def _fault_plan(rng: np.random.Generator, n: int, sampling_seconds: int) -> list[tuple[str, int, int]]:
    """Up to two non-overlapping faults after the first 20% of readings, each as (kind, first row, last row)."""
    per_hour = 3600 // sampling_seconds
    plan, earliest = [], int(0.2 * n)
    for _ in range(rng.integers(0, 3)):
        kind = str(rng.choice(FAULT_KINDS))
        length = {"spike": 2, "level_shift": 12, "stuck": 8, "degradation": 36}[kind] * per_hour
        if earliest + length + 24 * per_hour >= n:
            break
        first = int(rng.integers(earliest, min(n - length, earliest + n // 3)))
        plan.append((kind, first, first + length - 1))
        earliest = first + length + 24 * per_hour  # a quiet day between faults
    return plan


def _inject(rng: np.random.Generator, values: np.ndarray, kind: str, first: int, last: int) -> None:
    """Write the fault into ``values`` (in place); its label window is [first, last]."""
    scale = float(np.std(np.diff(values))) + 1e-9
    sign = rng.choice([-1.0, 1.0])
    if kind == "spike":  # one reading far off; the window leaves time to catch it
        values[first] += sign * rng.uniform(8, 15) * scale
    elif kind == "level_shift":  # the device settles at a new level from here on
        values[first:] += sign * rng.uniform(6, 12) * scale
    elif kind == "stuck":  # the sensor repeats its last reading
        values[first : last + 1] = values[first - 1]
    else:  # degradation: a slowly growing excursion, then failure (readings collapse to a floor)
        ramp = np.linspace(0, 1, last - first + 1) ** 2
        values[first : last + 1] += sign * rng.uniform(8, 15) * scale * ramp
        values[last - 12 : last + 1] = values[first] - 20 * scale
