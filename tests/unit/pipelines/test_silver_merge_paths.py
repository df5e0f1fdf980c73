"""The MERGE helpers' two paths give the same table: an empty target takes an append, a filled one a MERGE.

Expected tables are written out by hand, not computed by the helpers."""

from __future__ import annotations

from datetime import datetime

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import types as T
from pyspark.testing import assertDataFrameEqual

from pipelines.core.merge import ensure_table, insert_new, upsert_latest
from pipelines.core.table_log import has_no_files

SCHEMA = T.StructType(
    [
        T.StructField("event_id", T.StringType()),
        T.StructField("order_id", T.StringType()),
        T.StructField("line_number", T.IntegerType(), nullable=False),
        T.StructField("at", T.TimestampType()),
    ]
)


def _at(hour: int) -> datetime:
    return datetime(2026, 3, 1, hour)


def _operations(spark: SparkSession, path: str) -> list[str]:
    return [row.operation for row in DeltaTable.forPath(spark, path).history().orderBy("version").collect()]


def test_a_new_table_is_empty_opens_with_the_base_protocol_and_takes_nulls(spark, tmp_path) -> None:
    path = str(tmp_path / "t")
    ensure_table(spark, path, SCHEMA)
    ensure_table(spark, path, SCHEMA)  # a second call changes nothing
    detail = DeltaTable.forPath(spark, path).detail().first()
    assert (detail.numFiles, detail.minReaderVersion, detail.minWriterVersion) == (0, 1, 2)
    assert has_no_files(path) and _operations(spark, path) == ["CREATE TABLE"]
    # Stored as a DataFrame write would store it: every column nullable, so later appends are not refused.
    assert all(field.nullable for field in spark.read.format("delta").load(path).schema.fields)


def test_insert_new_appends_into_an_empty_table_then_merges_only_new_keys(spark, tmp_path) -> None:
    path = str(tmp_path / "lines")
    ensure_table(spark, path, SCHEMA)
    first = spark.createDataFrame([("e1", "o1", 1, _at(1)), ("e1", "o1", 1, _at(1)), ("e2", "o2", 1, _at(2))], SCHEMA)
    assert insert_new(spark, path, first, ("order_id", "line_number")) == 2  # the duplicate dropped
    assert not has_no_files(path)
    again = spark.createDataFrame([("e1", "o1", 1, _at(1)), ("e3", "o3", 1, _at(3))], SCHEMA)
    assert insert_new(spark, path, again, ("order_id", "line_number")) == 1
    assert insert_new(spark, path, again, ("order_id", "line_number")) == 0
    expected = [("e1", "o1", 1, _at(1)), ("e2", "o2", 1, _at(2)), ("e3", "o3", 1, _at(3))]
    table = spark.read.format("delta").load(path)
    assertDataFrameEqual(table, spark.createDataFrame(expected, table.schema))
    assert _operations(spark, path) == ["CREATE TABLE", "WRITE", "MERGE"]  # a MERGE that adds nothing commits nothing


def test_upsert_latest_keeps_the_newest_per_key_on_either_path(spark, tmp_path) -> None:
    path = str(tmp_path / "state")
    ensure_table(spark, path, SCHEMA)
    first = spark.createDataFrame([("e1", "o1", 1, _at(1)), ("e2", "o1", 2, _at(5)), ("e3", "o2", 1, _at(2))], SCHEMA)
    assert upsert_latest(spark, path, first, ("order_id",), "at") == 2
    late = spark.createDataFrame([("e4", "o1", 3, _at(4)), ("e5", "o2", 4, _at(6))], SCHEMA)
    assert upsert_latest(spark, path, late, ("order_id",), "at") == 1  # o1's older replay is ignored
    expected = [("e2", "o1", 2, _at(5)), ("e5", "o2", 4, _at(6))]
    table = spark.read.format("delta").load(path)
    assertDataFrameEqual(table, spark.createDataFrame(expected, table.schema))
    assert _operations(spark, path) == ["CREATE TABLE", "WRITE", "MERGE"]
