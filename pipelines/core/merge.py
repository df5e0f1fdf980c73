"""Delta MERGE helpers that make silver idempotent: replaying the same events never adds or changes a row.

A MERGE into a table with no data files can match nothing: its whole effect is appending the deduplicated batch.
Both helpers append then (a first load, a new domain's first run) and skip the MERGE's join and source
materialisation. Whether the table has data files is read from its log by delta-rs (`table_log.has_no_files`:
milliseconds, where Spark's `detail()` took 0.1–0.7 s per table and batch). Each silver table has one inserting
writer (its flow's streaming checkpoint), so no row with the batch's keys can land between the check and the append;
the domain's quarantine is shared by its flows, but keyed by topic, partition and offset, so two flows' rows never
collide. A batch retried after a crash finds the table non-empty and MERGEs as usual. Keys already unique in the
batch (the usual case) skip the deduplication's shuffle of whole rows: finding out shuffles the key columns only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pipelines.core import table_log


def nullable(data_type: T.DataType) -> T.DataType:
    """``data_type`` with every field, element and value nullable: the schema a DataFrame write would store."""
    if isinstance(data_type, T.StructType):
        return T.StructType([T.StructField(f.name, nullable(f.dataType), True, f.metadata) for f in data_type.fields])
    if isinstance(data_type, T.ArrayType):
        return T.ArrayType(nullable(data_type.elementType), True)
    if isinstance(data_type, T.MapType):
        return T.MapType(nullable(data_type.keyType), nullable(data_type.valueType), True)
    return data_type


def ensure_table(spark: SparkSession, path: str, schema: T.StructType) -> None:
    """Create an empty Delta table so readers and MERGE find one before the first event arrives; add the columns of
    ``schema`` an existing table lacks (a new event version's), null in the rows it has.

    A commit with the schema and no data: no Spark job (writing an empty DataFrame runs one, ~1 s per table).
    Columns are only ever added: a column the schema no longer has stays, null in new rows (dropping one needs
    column mapping, a protocol other readers may not open).
    """
    if not DeltaTable.isDeltaTable(spark, path):
        DeltaTable.createIfNotExists(spark).location(path).addColumns(nullable(schema)).execute()
        return
    existing = set(DeltaTable.forPath(spark, path).toDF().columns)
    added = [field for field in nullable(schema).fields if field.name not in existing]
    if added:
        columns = ", ".join(f"`{field.name}` {field.dataType.simpleString()}" for field in added)
        spark.sql(f"ALTER TABLE delta.`{path}` ADD COLUMNS ({columns})")


def one_per_key(rows: DataFrame, keys: Sequence[str], newest_first_by: Sequence[str]) -> DataFrame:
    """The first row per key in ``newest_first_by`` descending order (ties broken by event_id, deterministic)."""
    order = [F.col(column).desc_nulls_last() for column in newest_first_by] + [F.col("event_id").desc()]
    ranked = rows.withColumn("_rank", F.row_number().over(Window.partitionBy(*keys).orderBy(*order)))
    return ranked.filter(F.col("_rank") == 1).drop("_rank")


def append_rows(path: str, rows: DataFrame, count: int) -> int:
    """Append ``rows`` (``count`` of them, counted by the caller's key pass) to the Delta table at ``path``."""
    rows.write.format("delta").mode("append").save(path)
    return count


def _on(keys: Sequence[str]) -> str:
    return " AND ".join(f"t.`{key}` = s.`{key}`" for key in keys)


def rows_changed(merge_result: DataFrame) -> int:
    """Rows a MERGE inserted or updated, from the metrics row ``DeltaMergeBuilder.execute()`` returns."""
    metrics = merge_result.first()
    return int(metrics["num_inserted_rows"]) + int(metrics["num_updated_rows"]) if metrics else 0


@dataclass(frozen=True)
class KeyCounts:
    rows: int
    keys: int

    @property
    def repeated(self) -> bool:
        return self.keys < self.rows


def key_counts(rows: DataFrame, keys: Sequence[str]) -> KeyCounts:
    """Rows and distinct ``keys`` in one pass that shuffles the key columns only, not whole rows: whether a batch
    needs deduplicating, and how many rows an append of it (deduplicated) writes."""
    counted = rows.groupBy(*keys).count().agg(F.count(F.lit(1)).alias("keys"), F.sum("count").alias("rows")).first()
    return KeyCounts(rows=int(counted["rows"] or 0), keys=int(counted["keys"]))


def with_table_columns(table: DeltaTable, rows: DataFrame) -> DataFrame:
    """``rows`` with every column of ``table``: one they lack (kept from an older event version) is null. MERGE's
    INSERT * / UPDATE SET * refuse a source without every target column."""
    missing = [f for f in table.toDF().schema.fields if f.name not in rows.columns]
    return rows.withColumns({f.name: F.lit(None).cast(f.dataType) for f in missing}) if missing else rows


def insert_new(spark: SparkSession, path: str, rows: DataFrame, keys: Sequence[str]) -> int:
    """Insert rows whose ``keys`` the table does not have yet (the at-least-once dedupe); returns rows inserted.
    Keys already unique in the batch (the usual case of at-least-once delivery) skip the deduplication."""
    counts = key_counts(rows, keys)
    source = rows.dropDuplicates(list(keys)) if counts.repeated else rows
    if table_log.has_no_files(path):
        return append_rows(path, source, counts.keys)
    table = DeltaTable.forPath(spark, path)
    merge = table.alias("t").merge(with_table_columns(table, source).alias("s"), _on(keys))
    return rows_changed(merge.whenNotMatchedInsertAll().execute())


def upsert_latest(spark: SparkSession, path: str, rows: DataFrame, keys: Sequence[str], newer_by: str) -> int:
    """Current state: insert new keys, replace a row only with a strictly newer one (older replays are ignored)."""
    counts = key_counts(rows, keys)
    source = one_per_key(rows, keys, [newer_by]) if counts.repeated else rows
    if table_log.has_no_files(path):
        return append_rows(path, source, counts.keys)
    newer = f"s.`{newer_by}` > t.`{newer_by}` OR t.`{newer_by}` IS NULL"
    table = DeltaTable.forPath(spark, path)
    merge = table.alias("t").merge(with_table_columns(table, source).alias("s"), _on(keys))
    return rows_changed(merge.whenMatchedUpdateAll(condition=newer).whenNotMatchedInsertAll().execute())
