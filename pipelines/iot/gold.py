"""IoT gold tables as the kit declares them: what each reads from silver, and how it is partitioned.

Every gold table is recomputed in full from silver on each run (the kit's `GoldTable` overwrites it). That is
acceptable at this scale and keeps late readings correct; see `gold_readings` for what changes at fleet scale.
"""

from __future__ import annotations

from functools import partial

from pyspark.sql import DataFrame, SparkSession

from pipelines.core.domain import GoldTable
from pipelines.core.tables import DomainLake
from pipelines.iot.gold_fleet import firmware_comparison, fleet_health_daily
from pipelines.iot.gold_readings import reading_stats


def _silver(spark: SparkSession, lake: DomainLake, table: str) -> DataFrame:
    return spark.read.format("delta").load(lake.silver(table))


def _per_minute(spark: SparkSession, lake: DomainLake) -> DataFrame:
    return reading_stats(_silver(spark, lake, "readings"), "minute")


def _per_hour(spark: SparkSession, lake: DomainLake) -> DataFrame:
    return reading_stats(_silver(spark, lake, "readings"), "hour")


def _fleet_health(spark: SparkSession, lake: DomainLake) -> DataFrame:
    read = partial(_silver, spark, lake)
    return fleet_health_daily(read("readings"), read("devices"), read("device_models"), read("alerts"))


def _firmware(spark: SparkSession, lake: DomainLake) -> DataFrame:
    read = partial(_silver, spark, lake)
    return firmware_comparison(read("readings"), read("devices"), read("firmware_installs"), read("alerts"))


GOLD_TABLES: dict[str, GoldTable] = {
    "device_minute_stats": GoldTable(_per_minute, ("readings",), ("day",)),
    "device_hour_stats": GoldTable(_per_hour, ("readings",), ("day",)),
    "fleet_health_daily": GoldTable(_fleet_health, ("readings", "devices", "device_models", "alerts")),
    "firmware_comparison": GoldTable(_firmware, ("readings", "devices", "firmware_installs", "alerts")),
}
