"""Per-device reading aggregates: each device's sensors per minute and per hour.

Recomputed in full from silver on every run (the kit's `GoldTable`): at this platform's scale a full pass is cheap
and it means late readings always land in their true minute. At fleet scale this becomes an incremental MERGE of
the windows the new readings touch.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

# percentile_approx's accuracy: 1/10,000 relative rank error, plenty for a window of a few hundred readings.
ACCURACY = 10_000


def reading_stats(readings: DataFrame, unit: str) -> DataFrame:
    """Per device, sensor and ``unit`` ("minute" or "hour") window: count, min, max, mean, stddev, p50 and p95."""
    window = F.date_trunc(unit, "ts").alias(f"{unit}_start")
    quantiles = F.percentile_approx("value", F.array(F.lit(0.5), F.lit(0.95)), ACCURACY)
    stats = readings.groupBy("device_id", "sensor", window).agg(
        F.count("value").alias("readings"),
        F.min("value").alias("min_value"),
        F.max("value").alias("max_value"),
        F.mean("value").alias("mean_value"),
        F.stddev_samp("value").alias("stddev_value"),
        quantiles.alias("_q"),
        F.count_if("late").alias("late_readings"),
    )
    return stats.select(
        "device_id",
        "sensor",
        f"{unit}_start",
        F.to_date(f"{unit}_start").alias("day"),
        "readings",
        "min_value",
        "max_value",
        "mean_value",
        "stddev_value",
        F.col("_q")[0].alias("p50_value"),
        F.col("_q")[1].alias("p95_value"),
        "late_readings",
    )
