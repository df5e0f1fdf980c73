"""Gold: daily sales and per-customer spend, recomputed in full from silver on every run.

Cancelled orders are not sales: they count nowhere in gold. Days are UTC calendar days of ``placed_at``.
A full recompute keeps gold a pure function of silver: deterministic, idempotent, and late chargebacks or
status changes land in the right day without any incremental bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from pipelines.core.domain import GoldTable
from pipelines.core.schemas import MONEY
from pipelines.core.tables import DomainLake

SPEND_WINDOWS_DAYS = (1, 7, 30)


def sales(orders: DataFrame) -> DataFrame:
    return orders.filter(F.col("status") != "cancelled").withColumn("date", F.to_date("placed_at"))


def daily_sales_by_category(orders: DataFrame, order_lines: DataFrame) -> DataFrame:
    lines = order_lines.join(sales(orders).select("order_id", "date"), "order_id")
    return lines.groupBy("date", "category").agg(
        F.countDistinct("order_id").alias("orders"),
        F.sum("quantity").alias("units"),
        F.sum("line_amount").cast(MONEY).alias("revenue"),
    )


def daily_sales_by_merchant(orders: DataFrame) -> DataFrame:
    daily = (
        sales(orders)
        .groupBy("date", "merchant_id")
        .agg(
            F.count("order_id").alias("orders"),
            F.sum("amount").cast(MONEY).alias("revenue"),
            F.sum(F.col("has_chargeback").cast("long")).alias("chargebacks"),
        )
    )
    return daily.withColumn("chargeback_rate", F.col("chargebacks") / F.col("orders"))


def _most_frequent(rows: DataFrame, value: str, weight: Column, alias: str) -> DataFrame:
    """Per customer, the ``value`` with the largest total ``weight`` (ties: the smallest value)."""
    totals = rows.groupBy("customer_id", value).agg(weight.alias("_weight"))
    order = Window.partitionBy("customer_id").orderBy(F.col("_weight").desc(), F.col(value))
    ranked = totals.withColumn("_rank", F.row_number().over(order)).filter("_rank = 1")
    return ranked.select("customer_id", F.col(value).alias(alias))


def customer_spend(orders: DataFrame, order_lines: DataFrame) -> DataFrame:
    """Orders and spend over the 1/7/30 days up to the latest order in the data, and spending habits.

    The reference point is the data's latest ``placed_at`` (not the wall clock), so a replay of history gives
    the same numbers; a window of N days holds orders placed after ``latest - N days``.
    """
    sold = sales(orders).withColumn("_latest", F.max("placed_at").over(Window.partitionBy()))
    windows = []
    for days in SPEND_WINDOWS_DAYS:
        inside = F.col("placed_at") > F.col("_latest") - F.expr(f"INTERVAL {days} DAYS")
        windows += [
            F.count(F.when(inside, True)).alias(f"orders_{days}d"),
            F.coalesce(F.sum(F.when(inside, F.col("amount"))), F.lit(0)).cast(MONEY).alias(f"spend_{days}d"),
        ]
    spend = sold.groupBy("customer_id").agg(
        *windows,
        F.avg("amount").cast("double").alias("avg_amount"),
        # Sample standard deviation: null for a customer with a single order.
        F.stddev_samp("amount").cast("double").alias("std_amount"),
        F.min("placed_at").alias("first_order_at"),
        F.max("placed_at").alias("last_order_at"),
    )
    lines = order_lines.join(sold.select("order_id", "customer_id"), "order_id")
    favourite = _most_frequent(lines, "category", F.sum("quantity"), "favourite_category")
    hour = _most_frequent(sold.withColumn("_hour", F.hour("placed_at")), "_hour", F.count("*"), "usual_hour")
    return spend.join(favourite, "customer_id", "left").join(hour, "customer_id", "left")


# Every gold table is built from silver orders and their lines.
def _orders_and_lines(
    build: Callable[[DataFrame, DataFrame], DataFrame],
) -> Callable[[SparkSession, DomainLake], DataFrame]:
    def from_silver(spark: SparkSession, lake: DomainLake) -> DataFrame:
        read = spark.read.format("delta")
        return build(read.load(lake.silver("orders")), read.load(lake.silver("order_lines")))

    return from_silver


READS = ("orders", "order_lines")
# gold table → (builder from silver orders and order lines, partition columns): pure, so a benchmark or notebook
# can run them on any storage.
BUILDERS: dict[str, tuple[Callable[[DataFrame, DataFrame], DataFrame], tuple[str, ...]]] = {
    "daily_sales_by_category": (daily_sales_by_category, ("date",)),
    "daily_sales_by_merchant": (lambda orders, _lines: daily_sales_by_merchant(orders), ("date",)),
    "customer_spend": (customer_spend, ()),
}
GOLD_TABLES: dict[str, GoldTable] = {
    name: GoldTable(_orders_and_lines(build), READS, partition_by) for name, (build, partition_by) in BUILDERS.items()
}
