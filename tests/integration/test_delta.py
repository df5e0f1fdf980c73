"""Real Spark with real Delta tables: write, read, MERGE upsert, time travel, an open protocol."""

from __future__ import annotations

from delta.tables import DeltaTable
from pyspark.testing import assertDataFrameEqual

from pipelines.core.engines import compare_engines


def test_write_read_merge_and_time_travel(spark, tmp_path):
    path = str(tmp_path / "customers")
    spark.createDataFrame([(1, "ada", 10), (2, "bob", 20)], "id INT, name STRING, spend INT").write.format(
        "delta"
    ).save(path)

    updates = spark.createDataFrame([(2, "bob", 25), (3, "cy", 5)], "id INT, name STRING, spend INT")
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(updates.alias("u"), "t.id = u.id")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )

    current = spark.read.format("delta").load(path)
    expected = spark.createDataFrame([(1, "ada", 10), (2, "bob", 25), (3, "cy", 5)], "id INT, name STRING, spend INT")
    assertDataFrameEqual(current, expected)

    original = spark.read.format("delta").option("versionAsOf", 0).load(path)
    assertDataFrameEqual(original, spark.createDataFrame([(1, "ada", 10), (2, "bob", 20)], current.schema))
    operations = [row.operation for row in DeltaTable.forPath(spark, path).history().collect()]
    assert operations == ["MERGE", "WRITE"]


def test_merge_twice_with_the_same_rows_does_not_duplicate(spark, tmp_path):
    path = str(tmp_path / "events")
    spark.createDataFrame([("e1", 1)], "event_id STRING, n INT").write.format("delta").save(path)
    batch = spark.createDataFrame([("e1", 1), ("e2", 2)], "event_id STRING, n INT")
    for _ in range(2):
        (
            DeltaTable.forPath(spark, path)
            .alias("t")
            .merge(batch.alias("b"), "t.event_id = b.event_id")
            .whenNotMatchedInsertAll()
            .execute()
        )
    assert sorted(r.event_id for r in spark.read.format("delta").load(path).collect()) == ["e1", "e2"]


def test_new_tables_use_the_base_protocol_every_delta_reader_opens(spark, tmp_path):
    path = str(tmp_path / "open")
    spark.range(3).write.format("delta").save(path)
    detail = DeltaTable.forPath(spark, path).detail().first()
    assert (detail.minReaderVersion, detail.minWriterVersion) == (1, 2)
    assert "deletionVectors" not in (detail.tableFeatures or [])


def test_other_engines_read_what_spark_reads_and_a_locked_table_is_reported(spark, tmp_path):
    path = str(tmp_path / "open")
    spark.createDataFrame([(n, f"n{n}", [n]) for n in range(5)], "id INT, name STRING, tags ARRAY<INT>").write.format(
        "delta"
    ).save(path)
    DeltaTable.forPath(spark, path).delete("id = 3")  # a removed file every reader must skip
    view = compare_engines(spark, path)
    assert view.agrees, view.differences
    assert (view.spark_rows, view.delta_rs_rows, view.duckdb_rows, view.protocol) == (4, 4, 4, (1, 2))

    locked = str(tmp_path / "locked")
    spark.range(5).write.format("delta").option("delta.enableDeletionVectors", "true").save(locked)
    view = compare_engines(spark, locked)
    assert not view.agrees and view.differences[0].startswith("protocol 3/7"), view.differences
