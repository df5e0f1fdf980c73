"""IoT gold on small frames, expected values worked out by hand: per-minute statistics, fleet health per site and
day (expected readings from the model's cadence), and firmware compared with each reading counted under the version
its device ran at that moment (the as-of join on installs)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pyspark.sql import Row

from pipelines.iot.gold_fleet import firmware_comparison, firmware_of_readings, fleet_health_daily
from pipelines.iot.gold_readings import reading_stats

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
DAY = date(2026, 3, 1)


def reading(device: str, n: int, at: datetime, value: float, sensor: str = "temp", late: bool = False) -> Row:
    return Row(
        device_id=device,
        sensor=sensor,
        reading_id=f"{device}/{sensor}/s{n}",
        ts=at,
        value=value,
        day=at.date(),
        late=late,
    )


def test_minute_stats_count_spread_and_percentiles_per_device_and_minute(spark) -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20 in the first minute
    rows = [reading("d1", i, T0 + timedelta(seconds=i), v, late=i == 1) for i, v in enumerate(values)]
    rows.append(reading("d1", 99, T0 + timedelta(minutes=1), 100.0))
    stats = {
        r.minute_start.replace(tzinfo=UTC): r for r in reading_stats(spark.createDataFrame(rows), "minute").collect()
    }
    first = stats[T0]
    assert (first.readings, first.min_value, first.max_value, first.mean_value) == (20, 1.0, 20.0, 10.5)
    assert first.stddev_value == pytest.approx(5.9160797831)  # sample stddev of 1..20
    assert (first.p50_value, first.p95_value, first.late_readings) == (10.0, 19.0, 1)
    assert stats[T0 + timedelta(minutes=1)].readings == 1 and first.day == DAY
    (hour,) = reading_stats(spark.createDataFrame(rows), "hour").collect()
    assert (hour.readings, hour.max_value) == (21, 100.0)


def test_fleet_health_counts_devices_alerts_and_the_share_of_expected_readings(spark) -> None:
    devices = spark.createDataFrame(
        [
            Row(
                device_id="d1",
                site_id="s1",
                model_id="m1",
                registered_at=T0 - timedelta(days=1),
                status="active",
                status_changed_at=None,
            ),
            Row(
                device_id="d2",
                site_id="s1",
                model_id="m1",
                registered_at=T0 - timedelta(days=1),
                status="active",
                status_changed_at=None,
            ),
            # Retired before the day: not expected. Registered after it: not expected either.
            Row(
                device_id="d3",
                site_id="s1",
                model_id="m1",
                registered_at=T0 - timedelta(days=5),
                status="retired",
                status_changed_at=T0 - timedelta(days=2),
            ),
            Row(
                device_id="d4",
                site_id="s1",
                model_id="m1",
                registered_at=T0 + timedelta(days=3),
                status="active",
                status_changed_at=None,
            ),
        ]
    )
    models = spark.createDataFrame([Row(model_id="m1", sensors=["temp", "vib"], sampling_seconds=60)])
    readings = spark.createDataFrame([reading("d1", i, T0 + timedelta(minutes=i), 1.0) for i in range(720)])
    alerts = spark.createDataFrame(
        [Row(device_id="d1", site_id="s1", reading_at=T0), Row(device_id="d1", site_id="s1", reading_at=T0)]
    )
    (row,) = fleet_health_daily(readings, devices, models, alerts).collect()
    # Two devices in service × two sensors × 1,440 readings a day = 5,760 expected; 720 arrived.
    assert (row.site_id, row.day, row.devices_reporting, row.readings) == ("s1", DAY, 1, 720)
    assert (row.alerts, row.devices_with_alerts, row.expected_readings, row.received_share) == (2, 1, 5760.0, 0.125)


def test_each_reading_counts_under_the_firmware_its_device_ran_at_that_moment(spark) -> None:
    installs = spark.createDataFrame(
        [
            Row(device_id="d1", installed_at=T0, firmware_version="1.0.0"),
            Row(device_id="d1", installed_at=T0 + timedelta(hours=1), firmware_version="1.1.0"),
            Row(device_id="d2", installed_at=T0 + timedelta(hours=1), firmware_version="1.1.0"),
        ]
    )
    readings = spark.createDataFrame(
        [
            reading("d1", 1, T0 - timedelta(minutes=1), 1.0),  # before any install: unknown
            reading("d1", 2, T0, 2.0),  # at the install: the new version
            reading("d1", 3, T0 + timedelta(minutes=59), 4.0),
            reading("d1", 4, T0 + timedelta(hours=2), 10.0),
            reading("d2", 5, T0 + timedelta(hours=2), 20.0),
        ]
    )
    versions = {r.reading_id: r.firmware_version for r in firmware_of_readings(readings, installs).collect()}
    assert versions == {
        "d1/temp/s1": "unknown",
        "d1/temp/s2": "1.0.0",
        "d1/temp/s3": "1.0.0",
        "d1/temp/s4": "1.1.0",
        "d2/temp/s5": "1.1.0",
    }
    devices = spark.createDataFrame([Row(device_id="d1", model_id="m1"), Row(device_id="d2", model_id="m1")])
    alerts = spark.createDataFrame([Row(reading_id="d2/temp/s5"), Row(reading_id="d2/temp/s5")])
    compared = {r.firmware_version: r for r in firmware_comparison(readings, devices, installs, alerts).collect()}
    old, new = compared["1.0.0"], compared["1.1.0"]
    assert (old.devices, old.readings, old.mean_value, old.alerts, old.alerts_per_1000_readings) == (1, 2, 3.0, 0, 0.0)
    assert (new.devices, new.readings, new.mean_value, new.alerts, new.alerts_per_1000_readings) == (
        2,
        2,
        15.0,
        1,
        500.0,
    )
    assert new.stddev_value == pytest.approx(7.0710678) and compared["unknown"].readings == 1
