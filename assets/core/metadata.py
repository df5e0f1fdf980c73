"""Asset metadata for a Delta table: what a reader of the Dagster UI wants to see after a run."""

from __future__ import annotations

from dagster import MetadataValue, TableColumn, TableSchema
from delta.tables import DeltaTable
from pyspark.sql import SparkSession

PREVIEW_ROWS = 10


def delta_table_metadata(spark: SparkSession, path: str) -> dict[str, object]:
    frame = spark.read.format("delta").load(path)
    version = DeltaTable.forPath(spark, path).history(1).select("version").first()
    preview = frame.limit(PREVIEW_ROWS).toPandas()
    return {
        "row_count": MetadataValue.int(frame.count()),
        "table_version": MetadataValue.int(int(version[0]) if version else 0),
        "path": MetadataValue.path(path),
        "dagster/column_schema": TableSchema(
            columns=[TableColumn(field.name, field.dataType.simpleString()) for field in frame.schema.fields]
        ),
        "preview": MetadataValue.md(preview.to_markdown(index=False) if len(preview) else "(empty)"),
    }
