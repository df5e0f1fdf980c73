"""The labelled fraud training set as of a cut-off.

The label of an order is what the business knew at the cut-off: a chargeback filed at or before it. Orders placed
after the cut-off are left out. A recent order's chargeback may simply not have arrived yet; choosing a cut-off
old enough for labels to have matured is the trainer's call (it is a parameter, not a rule baked in here).
"""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.fraud.offline import build_fraud_features, first_filings
from features.fraud.spec import LABEL_COLUMN, ORDER_KEY, TIMESTAMP_COLUMN
from features.point_in_time import unix_micros
from lakehouse import lake
from lakehouse.settings import Settings


def build_training_set(features: DataFrame, chargebacks: DataFrame, cutoff: datetime) -> DataFrame:
    """``features`` (from ``build_fraud_features``) of orders placed at or before ``cutoff``, plus ``is_fraud``."""
    cutoff_us = unix_micros(cutoff)
    known = first_filings(chargebacks).filter(F.unix_micros("filed_at") <= cutoff_us)
    labelled = known.select(ORDER_KEY, F.lit(1).cast("int").alias(LABEL_COLUMN))
    placed = features.filter(F.unix_micros(TIMESTAMP_COLUMN) <= cutoff_us)
    return placed.join(labelled, ORDER_KEY, "left").fillna(0, subset=[LABEL_COLUMN])


def training_set_from(orders: DataFrame, chargebacks: DataFrame, cutoff: datetime) -> DataFrame:
    """The training set from silver ``orders`` and ``chargebacks`` as of ``cutoff``: given the same table versions
    and cutoff (recorded with each build), the same rows."""
    return build_training_set(build_fraud_features(orders, chargebacks), chargebacks, cutoff)


def write_training_set(orders: DataFrame, chargebacks: DataFrame, cutoff: datetime, path: str) -> int:
    """Build the training set from silver ``orders`` and ``chargebacks`` as of ``cutoff``, overwrite the Delta table
    at ``path`` with it, and return how many of its orders are labelled fraud."""
    training = training_set_from(orders, chargebacks, cutoff)
    training.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(path)
    spark = orders.sparkSession
    return int(spark.read.format("delta").load(path).agg(F.sum(LABEL_COLUMN)).first()[0] or 0)


def training_set_path(settings: Settings) -> str:
    """Where the training set's Delta table lives under the lake root."""
    return lake.table_path(settings, "features", "fraud_training_set")
