"""The e-commerce silver tables the fraud features are computed from, each read at one pinned version."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import SparkSession

from features.pinned import PinnedTable, read_at, read_pinned, read_pinned_or_empty, table_versions
from pipelines.core.tables import DomainLake

# What the features need of a chargeback: before the first one is filed there is no silver table to read.
CHARGEBACKS_SCHEMA = "order_id STRING, filed_at TIMESTAMP"


@dataclass(frozen=True)
class FraudInputs:
    orders: PinnedTable
    chargebacks: PinnedTable

    def versions(self) -> dict[str, int]:
        """``{path: version}`` of both tables, recorded with what is built from them."""
        return table_versions(self.orders, self.chargebacks)


def read_fraud_inputs(spark: SparkSession, ecommerce: DomainLake) -> FraudInputs:
    """Silver orders and chargebacks of the e-commerce lake ``ecommerce``, at their latest versions."""
    orders = read_pinned(spark, ecommerce.silver("orders"))
    chargebacks = read_pinned_or_empty(spark, ecommerce.silver("chargebacks"), CHARGEBACKS_SCHEMA)
    return FraudInputs(orders, chargebacks)


def read_recorded_inputs(spark: SparkSession, ecommerce: DomainLake, versions: dict[str, int]) -> FraudInputs:
    """The same tables at the versions a build recorded (its ``input_table_versions``), to rebuild what it built."""
    orders, chargebacks = ecommerce.silver("orders"), ecommerce.silver("chargebacks")
    missing = sorted({orders, chargebacks} - set(versions))
    if missing:
        raise ValueError(f"the recorded versions name no version for {missing}")
    return FraudInputs(
        read_at(spark, orders, versions[orders]), read_at(spark, chargebacks, versions[chargebacks], CHARGEBACKS_SCHEMA)
    )
