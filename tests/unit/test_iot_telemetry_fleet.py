"""The fleet feed's series: one per (device, sensor) at its model's cadence, ending by ``end`` (never after), with
the simulator's faults renamed to the fleet's devices."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

from ingest.iot.fleet import FleetDevice
from ingest.iot.fleet_feed import fleet_series

END = datetime(2026, 3, 1, 12, 34, 56, tzinfo=UTC)
DEVICES = [
    FleetDevice("dev-a", "m1", "s", "u", ("temperature",), 60, "k"),
    FleetDevice("dev-b", "m2", "s", "u", ("vibration", "current"), 300, "k"),
]


def test_each_device_sensor_has_a_series_at_its_cadence_ending_by_the_end() -> None:
    series = fleet_series(DEVICES, days=2, seed=3, end=END)
    counts = series.readings.groupby(["device_id", "sensor"]).size().to_dict()
    assert counts == {
        ("dev-a", "temperature"): 2 * 1440,
        ("dev-b", "current"): 2 * 288,
        ("dev-b", "vibration"): 2 * 288,
    }
    for (_, _), group in series.readings.groupby(["device_id", "sensor"]):
        steps = group["timestamp"].diff().dropna().unique()
        assert len(steps) == 1
        assert END - timedelta(seconds=steps[0].total_seconds()) < group["timestamp"].max() <= END
    assert series.readings["timestamp"].min() > END - timedelta(days=2)


def test_faults_name_the_fleets_devices_and_the_same_seed_gives_the_same_series() -> None:
    series = fleet_series(DEVICES, days=14, seed=5, end=END)
    assert set(series.faults["device_id"]) <= {"dev-a", "dev-b"}
    assert set(series.faults.columns) >= {"device_id", "sensor", "kind", "start", "end"}
    again = fleet_series(DEVICES, days=14, seed=5, end=END)
    assert series.readings.equals(again.readings)


def test_a_cadence_without_faults_joins_the_others_without_a_pandas_warning() -> None:
    # Two days of two cadences: some seeds (1 and 4) give one cadence no fault, whose empty frame pandas warned about.
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        for seed in range(6):
            series = fleet_series(DEVICES, days=2, seed=seed, end=END)
            assert set(series.faults["device_id"]) <= {"dev-a", "dev-b"}
