"""Gold is rebuilt when the silver it reads changed, and only then: same silver, same gold, no new version."""

from __future__ import annotations

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipelines.core.domain import GoldTable, refresh_gold
from pipelines.core.tables import DomainLake


def _totals(spark: SparkSession, lake: DomainLake) -> DataFrame:
    return spark.read.format("delta").load(lake.silver("sales")).groupBy("shop").agg(F.sum("amount").alias("total"))


def _writes(spark: SparkSession, path: str) -> int:
    return DeltaTable.forPath(spark, path).history().filter("operation = 'WRITE'").count()


def test_gold_is_rebuilt_only_when_its_silver_changed(spark, tmp_path) -> None:
    lake = DomainLake("shop", lambda layer, name: str(tmp_path / layer / name), lambda layer, name: str(tmp_path))
    silver = spark.createDataFrame([("a", 1), ("a", 2), ("b", 5)], "shop string, amount int")
    silver.write.format("delta").save(lake.silver("sales"))
    table = GoldTable(_totals, ("sales",))

    path = refresh_gold(spark, lake, "totals", table)
    refresh_gold(spark, lake, "totals", table)  # silver unchanged: nothing rewritten
    assert _writes(spark, path) == 1

    spark.createDataFrame([("b", 10)], silver.schema).write.format("delta").mode("append").save(lake.silver("sales"))
    refresh_gold(spark, lake, "totals", table)
    assert _writes(spark, path) == 2
    rows = {row["shop"]: row["total"] for row in spark.read.format("delta").load(path).collect()}
    assert rows == {"a": 3, "b": 15}
