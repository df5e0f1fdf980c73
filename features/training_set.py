"""The labelled training set as of a cut-off, and the Delta table versions it was built from.

The label of an order is what the business knew at the cut-off: a chargeback filed at or before it. Orders placed
after the cut-off are left out. A recent order's chargeback may simply not have arrived yet; choosing a cut-off
old enough for labels to have matured is the trainer's call (it is a parameter, not a rule baked in here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from features.fraud_spec import LABEL_COLUMN, ORDER_KEY, TIMESTAMP_COLUMN
from features.offline import first_filings, unix_micros


def build_training_set(features: DataFrame, chargebacks: DataFrame, cutoff: datetime) -> DataFrame:
    """``features`` (from ``build_fraud_features``) of orders placed at or before ``cutoff``, plus ``is_fraud``."""
    cutoff_us = unix_micros(cutoff)
    known = first_filings(chargebacks).filter(F.unix_micros("filed_at") <= cutoff_us)
    labelled = known.select(ORDER_KEY, F.lit(1).cast("int").alias(LABEL_COLUMN))
    placed = features.filter(F.unix_micros(TIMESTAMP_COLUMN) <= cutoff_us)
    return placed.join(labelled, ORDER_KEY, "left").fillna(0, subset=[LABEL_COLUMN])


@dataclass(frozen=True)
class PinnedTable:
    """A Delta table read at one version, so the version recorded is the one the data came from."""

    path: str
    version: int
    frame: DataFrame


def read_pinned(spark: SparkSession, path: str) -> PinnedTable:
    if not DeltaTable.isDeltaTable(spark, path):
        raise ValueError(f"{path} is not a Delta table (has its pipeline run?)")
    version = DeltaTable.forPath(spark, path).history(1).select("version").first()[0]
    frame = spark.read.format("delta").option("versionAsOf", version).load(path)
    return PinnedTable(path, int(version), frame)


def table_versions(*tables: PinnedTable) -> dict[str, int]:
    """``{path: version}`` of the inputs, to log beside the model (e.g. as MLflow params or tags)."""
    return {table.path: table.version for table in tables}


def read_pinned_or_empty(spark: SparkSession, path: str, empty_schema: str) -> PinnedTable:
    """Like ``read_pinned``; a table no pipeline has written yet (no chargeback so far) reads as empty, version -1."""
    if DeltaTable.isDeltaTable(spark, path):
        return read_pinned(spark, path)
    return PinnedTable(path, -1, spark.createDataFrame([], empty_schema))
