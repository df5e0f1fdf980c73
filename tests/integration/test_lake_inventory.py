"""The main job's summary counts with delta-rs: the rows Spark sees, after appends, a MERGE that deletes and
updates, and an overwrite (each leaves removed files in the log that a reader must skip)."""

from __future__ import annotations

import pytest
from delta.tables import DeltaTable

from lakehouse.settings import Settings
from pipelines.core.inventory import count_tables, open_table, quarantine_reasons, row_count
from pipelines.core.tables import domain_lake
from pipelines.ecommerce.lakehouse import LAKEHOUSE

pytestmark = pytest.mark.integration

SCHEMA = "id INT, reason STRING"


def test_counts_and_reasons_are_what_spark_reads(spark, tmp_path):
    lake = domain_lake(Settings(lake_root=str(tmp_path / "lake")), "ecommerce")
    assert all(count.rows is None for count in count_tables(LAKEHOUSE, lake))  # no table yet: nothing to count
    assert quarantine_reasons(lake) == []

    path = lake.quarantine()
    rows = [(n, "bad json" if n % 3 else "unknown version") for n in range(30)]
    spark.createDataFrame(rows[:20], SCHEMA).write.format("delta").save(path)
    spark.createDataFrame(rows[20:], SCHEMA).write.format("delta").mode("append").save(path)
    changes = spark.createDataFrame([(1, "missing field"), (2, None), (99, "too large")], SCHEMA)
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(changes.alias("c"), "t.id = c.id")
        .whenMatchedDelete("c.reason IS NULL")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )
    spark.createDataFrame([(5, "late")], SCHEMA).write.format("delta").save(lake.bronze("orders"))

    seen = spark.read.format("delta").load(path)
    by_reason = {row["reason"]: row["count"] for row in seen.groupBy("reason").count().collect()}
    assert seen.count() == 30 == row_count(open_table(path))
    assert dict(quarantine_reasons(lake)) == by_reason
    assert [count for _, count in quarantine_reasons(lake)] == sorted(by_reason.values(), reverse=True)

    spark.createDataFrame([(7, "replaced")], SCHEMA).write.format("delta").mode("overwrite").save(path)
    counts = {(count.layer, count.table): count.rows for count in count_tables(LAKEHOUSE, lake)}
    assert counts[("quarantine", lake.name("events"))] == 1 == spark.read.format("delta").load(path).count()
    assert counts[("bronze", lake.name("orders"))] == 1
    assert sum(rows is not None for rows in counts.values()) == 2
