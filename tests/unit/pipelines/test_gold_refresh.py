"""Gold is rebuilt when the silver it reads changed, and only then: same silver, same gold, no new version; a daily
table's days are rebuilt alone, idempotently."""

from __future__ import annotations

from datetime import date

import pytest
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.spark import GENERATED, INTERPRETED
from pipelines.core import domain
from pipelines.core.domain import GoldTable, days_in, refresh_gold, refresh_gold_days
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


def _daily(spark: SparkSession, lake: DomainLake) -> DataFrame:
    sales = spark.read.format("delta").load(lake.silver("sales"))
    return sales.groupBy("day", "shop").agg(F.sum("amount").alias("total"))


def _rows(spark: SparkSession, path: str) -> set[tuple]:
    return {(str(r["day"]), r["shop"], r["total"]) for r in spark.read.format("delta").load(path).collect()}


def test_a_range_of_days_is_rebuilt_alone_and_idempotently(spark, tmp_path) -> None:
    lake = DomainLake("shop", lambda layer, name: str(tmp_path / layer / name), lambda layer, name: str(tmp_path))
    schema = "day date, shop string, amount int"
    rows = [(date(2026, 3, d), "a", d) for d in (1, 2, 3, 4)]
    spark.createDataFrame(rows, schema).write.format("delta").save(lake.silver("sales"))
    table = GoldTable(_daily, ("sales",), ("day",))
    assert table.day_column == "day" and GoldTable(_totals, ("sales",)).day_column is None

    path = refresh_gold(spark, lake, "daily", table)
    # Late events for days 2 and 4 arrive; only days 2-3 are rebuilt: day 2 changes, day 4 keeps its old total.
    late = [(date(2026, 3, 2), "a", 100), (date(2026, 3, 4), "a", 100)]
    spark.createDataFrame(late, schema).write.format("delta").mode("append").save(lake.silver("sales"))
    written = refresh_gold_days(spark, lake, "daily", table, date(2026, 3, 2), date(2026, 3, 4))
    expected = {("2026-03-01", "a", 1), ("2026-03-02", "a", 102), ("2026-03-03", "a", 3), ("2026-03-04", "a", 4)}
    assert written == 2 and _rows(spark, path) == expected
    assert refresh_gold_days(spark, lake, "daily", table, date(2026, 3, 2), date(2026, 3, 4)) == 2
    assert _rows(spark, path) == expected  # the same days again: the same rows, none twice
    assert sorted(days_in(spark, path, "day")) == [date(2026, 3, d) for d in (1, 2, 3, 4)]

    # The partial builds are not what a whole refresh built from: it rebuilds, and day 4 catches up.
    refresh_gold(spark, lake, "daily", table)
    assert ("2026-03-04", "a", 104) in _rows(spark, path)


def test_only_a_daily_table_is_rebuilt_by_day(spark, tmp_path) -> None:
    lake = DomainLake("shop", lambda layer, name: str(tmp_path / layer / name), lambda layer, name: str(tmp_path))
    with pytest.raises(ValueError, match="not a daily table"):
        refresh_gold_days(spark, lake, "totals", GoldTable(_totals, ("sales",)), date(2026, 3, 1), date(2026, 3, 2))


def test_a_build_reading_much_silver_gets_a_session_of_its_own_with_generated_code(spark, tmp_path, monkeypatch):
    lake = DomainLake("shop", lambda layer, name: str(tmp_path / layer / name), lambda layer, name: str(tmp_path))
    spark.createDataFrame([("a", 1), ("a", 2), ("b", 5)], "shop string, amount int").write.format("delta").save(
        lake.silver("sales")
    )
    table = GoldTable(_totals, ("sales",))
    monkeypatch.setattr(domain, "GOLD_GENERATED_CODE_FROM", 4)
    assert domain.build_session(spark, lake, table) is spark  # 3 rows: the shared session, interpreted

    monkeypatch.setattr(domain, "GOLD_GENERATED_CODE_FROM", 3)
    own = domain.build_session(spark, lake, table)
    assert own is not spark and own.sparkContext is spark.sparkContext
    assert {key: own.conf.get(key) for key in GENERATED} == GENERATED
    assert {key: spark.conf.get(key) for key in INTERPRETED} == INTERPRETED  # the shared session is untouched
    path = refresh_gold(spark, lake, "totals", table)
    assert {row["shop"]: row["total"] for row in spark.read.format("delta").load(path).collect()} == {"a": 3, "b": 5}
