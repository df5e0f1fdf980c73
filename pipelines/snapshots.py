"""Bronze snapshots of the operational stores (PostgreSQL rows, MongoDB documents, Cassandra partitions).

Each snapshot is merged into its bronze Delta table by primary key, so re-running one never duplicates rows.
PostgreSQL tables with an ``updated_at`` column are read incrementally: only rows changed after the newest
``updated_at`` already in bronze travel over JDBC (Spark pushes the filter down to PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T


def jdbc_options(postgres_url: str) -> dict[str, str]:
    """Spark JDBC options for a ``postgresql://user:password@host:port/db`` URL."""
    parsed = urlsplit(postgres_url)
    options = {
        "url": f"jdbc:postgresql://{parsed.hostname}:{parsed.port or 5432}{parsed.path or '/postgres'}",
        "driver": "org.postgresql.Driver",
        "user": parsed.username or "postgres",
    }
    if parsed.password:
        options["password"] = parsed.password
    return options


def latest_watermark(spark: SparkSession, table_path: str, column: str) -> datetime | None:
    """The newest ``column`` value already in the bronze table, or None when the table does not exist yet."""
    if not DeltaTable.isDeltaTable(spark, table_path):
        return None
    return spark.read.format("delta").load(table_path).agg(F.max(column)).first()[0]


def read_postgres_table(
    spark: SparkSession,
    postgres_url: str,
    table: str,
    *,
    watermark_column: str | None = None,
    after: datetime | None = None,
) -> DataFrame:
    """Rows of ``schema.table``; with a watermark, only those changed after ``after``."""
    frame = spark.read.format("jdbc").options(**jdbc_options(postgres_url), dbtable=table).load()
    if watermark_column and after is not None:
        frame = frame.filter(F.col(watermark_column) > F.lit(after))
    return frame


def documents_frame(spark: SparkSession, documents: Iterable[dict[str, Any]], schema: T.StructType) -> DataFrame:
    """MongoDB documents or Cassandra rows (already fetched by their drivers) as a typed DataFrame."""
    names = [field.name for field in schema.fields]
    rows = [tuple(_plain(document.get(name)) for name in names) for document in documents]
    return spark.createDataFrame(rows, schema)


def _plain(value: Any) -> Any:
    # ObjectId and other driver types become their string form; Spark has no type for them.
    if value is None or isinstance(value, str | int | float | bool | datetime | list | dict):
        return value
    return str(value)


def merge_snapshot(spark: SparkSession, snapshot: DataFrame, table_path: str, keys: Sequence[str]) -> int:
    """Upsert ``snapshot`` into the Delta table by ``keys``; returns the rows the snapshot carried.

    The count comes from Delta's commit metrics, so the source (a JDBC query, say) is read once, not twice.
    """
    stamped = snapshot.withColumn("snapshot_at", F.current_timestamp())
    if not DeltaTable.isDeltaTable(spark, table_path):
        stamped.write.format("delta").save(table_path)
        return _last_commit_metric(spark, table_path, "numOutputRows")
    condition = " AND ".join(f"t.`{key}` = s.`{key}`" for key in keys)
    (
        DeltaTable.forPath(spark, table_path)
        .alias("t")
        .merge(stamped.alias("s"), condition)
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )
    return _last_commit_metric(spark, table_path, "numSourceRows")


def _last_commit_metric(spark: SparkSession, table_path: str, metric: str) -> int:
    metrics = DeltaTable.forPath(spark, table_path).history(1).select("operationMetrics").first()[0]
    return int(metrics.get(metric, 0))
