"""Fleet health per site and day, and firmware versions compared.

Fleet health: devices reporting, readings, alerts, devices with alerts, and the share of expected readings received.
A device is expected to report from the day it was registered until the day it was retired (its current status),
``len(sensors) × 86,400 / sampling_seconds`` readings a day (its model's nominal cadence); a site-day appears once
any of its devices reports. Today's share is of a whole day, so it climbs until midnight (UTC days).

Firmware: each reading belongs to the firmware its device ran when the reading was measured: the newest install at
or before ``ts`` (an as-of join on installs); readings before any known install count as ``unknown``. Compared per
model, version and sensor (mixing sensors' values would make the mean meaningless).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

SECONDS_PER_DAY = 86_400
UNKNOWN_FIRMWARE = "unknown"


def _expected_per_day(devices: DataFrame, models: DataFrame) -> DataFrame:
    per_day = F.size("sensors") * F.lit(SECONDS_PER_DAY) / F.col("sampling_seconds")
    retired = F.when(F.col("status") == "retired", F.to_date("status_changed_at"))
    return devices.join(models.select("model_id", "sensors", "sampling_seconds"), "model_id").select(
        "device_id",
        "site_id",
        F.to_date("registered_at").alias("from_day"),
        retired.alias("retired_day"),
        per_day.alias("expected_per_day"),
    )


def _in_service(day: Column) -> Column:
    return (F.col("from_day") <= day) & (F.col("retired_day").isNull() | (F.col("retired_day") > day))


def fleet_health_daily(readings: DataFrame, devices: DataFrame, models: DataFrame, alerts: DataFrame) -> DataFrame:
    sited = readings.join(devices.select("device_id", "site_id"), "device_id")
    reported = sited.groupBy("site_id", "day").agg(
        F.countDistinct("device_id").alias("devices_reporting"), F.count(F.lit(1)).alias("readings")
    )
    alerted = (
        alerts.withColumn("day", F.to_date("reading_at"))
        .groupBy("site_id", "day")
        .agg(F.count(F.lit(1)).alias("alerts"), F.countDistinct("device_id").alias("devices_with_alerts"))
    )
    fleet = _expected_per_day(devices, models)
    expected = (
        reported.select("site_id", "day")
        .join(fleet, "site_id")
        .filter(_in_service(F.col("day")))
        .groupBy("site_id", "day")
        .agg(F.sum("expected_per_day").alias("expected_readings"))
    )
    health = reported.join(alerted, ["site_id", "day"], "left").join(expected, ["site_id", "day"], "left")
    return health.select(
        "site_id",
        "day",
        "devices_reporting",
        "readings",
        F.coalesce("alerts", F.lit(0)).alias("alerts"),
        F.coalesce("devices_with_alerts", F.lit(0)).alias("devices_with_alerts"),
        "expected_readings",
        (F.col("readings") / F.col("expected_readings")).alias("received_share"),
    )


def firmware_of_readings(readings: DataFrame, installs: DataFrame) -> DataFrame:
    """Each reading with the version its device ran at ``ts`` (as of the newest install at or before it)."""
    steps = installs.select("device_id", "installed_at", "firmware_version")
    joined = readings.join(steps, (readings.device_id == steps.device_id) & (steps.installed_at <= readings.ts), "left")
    return joined.groupBy(readings.reading_id, readings.device_id, readings.sensor, readings.value).agg(
        F.coalesce(F.max_by(steps.firmware_version, steps.installed_at), F.lit(UNKNOWN_FIRMWARE)).alias(
            "firmware_version"
        )
    )


def firmware_comparison(readings: DataFrame, devices: DataFrame, installs: DataFrame, alerts: DataFrame) -> DataFrame:
    versioned = firmware_of_readings(readings, installs).join(devices.select("device_id", "model_id"), "device_id")
    alerted = alerts.select("reading_id", F.lit(True).alias("alerted")).dropDuplicates(["reading_id"])
    rows = versioned.join(alerted, "reading_id", "left")
    compared = rows.groupBy("model_id", "firmware_version", "sensor").agg(
        F.countDistinct("device_id").alias("devices"),
        F.count(F.lit(1)).alias("readings"),
        F.mean("value").alias("mean_value"),
        F.stddev_samp("value").alias("stddev_value"),
        F.count_if(F.coalesce("alerted", F.lit(False))).alias("alerts"),
    )
    return compared.withColumn("alerts_per_1000_readings", F.col("alerts") * 1000 / F.col("readings"))
