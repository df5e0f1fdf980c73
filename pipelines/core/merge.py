"""Delta MERGE helpers that make silver idempotent: replaying the same events never adds or changes a row."""

from __future__ import annotations

from collections.abc import Sequence

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T


def ensure_table(spark: SparkSession, path: str, schema: T.StructType) -> None:
    """Create an empty Delta table so readers and MERGE find one before the first event arrives."""
    if not DeltaTable.isDeltaTable(spark, path):
        spark.createDataFrame([], schema).write.format("delta").mode("ignore").save(path)


def one_per_key(rows: DataFrame, keys: Sequence[str], newest_first_by: Sequence[str]) -> DataFrame:
    """The first row per key in ``newest_first_by`` descending order (ties broken by event_id, deterministic)."""
    order = [F.col(column).desc_nulls_last() for column in newest_first_by] + [F.col("event_id").desc()]
    ranked = rows.withColumn("_rank", F.row_number().over(Window.partitionBy(*keys).orderBy(*order)))
    return ranked.filter(F.col("_rank") == 1).drop("_rank")


def _on(keys: Sequence[str]) -> str:
    return " AND ".join(f"t.`{key}` = s.`{key}`" for key in keys)


def rows_changed(merge_result: DataFrame) -> int:
    """Rows a MERGE inserted or updated, from the metrics row ``DeltaMergeBuilder.execute()`` returns."""
    metrics = merge_result.first()
    return int(metrics["num_inserted_rows"]) + int(metrics["num_updated_rows"]) if metrics else 0


def insert_new(spark: SparkSession, path: str, rows: DataFrame, keys: Sequence[str]) -> int:
    """Insert rows whose ``keys`` the table does not have yet (the at-least-once dedupe); returns rows inserted."""
    source = rows.dropDuplicates(list(keys))
    merge = DeltaTable.forPath(spark, path).alias("t").merge(source.alias("s"), _on(keys))
    return rows_changed(merge.whenNotMatchedInsertAll().execute())


def upsert_latest(spark: SparkSession, path: str, rows: DataFrame, keys: Sequence[str], newer_by: str) -> int:
    """Current state: insert new keys, replace a row only with a strictly newer one (older replays are ignored)."""
    source = one_per_key(rows, keys, [newer_by])
    newer = f"s.`{newer_by}` > t.`{newer_by}` OR t.`{newer_by}` IS NULL"
    merge = DeltaTable.forPath(spark, path).alias("t").merge(source.alias("s"), _on(keys))
    return rows_changed(merge.whenMatchedUpdateAll(condition=newer).whenNotMatchedInsertAll().execute())
