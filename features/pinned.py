"""Delta tables read at one pinned version, so the versions a model records are the ones its data came from."""

from __future__ import annotations

from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession

from pipelines.core import table_log


@dataclass(frozen=True)
class PinnedTable:
    """A Delta table read at one version, so the version recorded is the one the data came from."""

    path: str
    version: int
    frame: DataFrame


def read_pinned(spark: SparkSession, path: str) -> PinnedTable:
    if not DeltaTable.isDeltaTable(spark, path):
        raise ValueError(f"{path} is not a Delta table (has its pipeline run?)")
    version = table_log.latest_version(path)
    frame = spark.read.format("delta").option("versionAsOf", version).load(path)
    return PinnedTable(path, int(version), frame)


def read_pinned_or_empty(spark: SparkSession, path: str, empty_schema: str) -> PinnedTable:
    """Like ``read_pinned``; a table no pipeline has written yet reads as empty (``empty_schema``), version -1."""
    if DeltaTable.isDeltaTable(spark, path):
        return read_pinned(spark, path)
    return PinnedTable(path, -1, spark.createDataFrame([], empty_schema))


def read_at(spark: SparkSession, path: str, version: int, empty_schema: str | None = None) -> PinnedTable:
    """``path`` as it was at ``version``, as recorded by ``table_versions``: -1 (the table did not exist yet) reads
    as empty with ``empty_schema``. Time travel needs the version's files, so VACUUM's retention bounds how far back
    this reaches."""
    if version < 0:
        if empty_schema is None:
            raise ValueError(f"{path} had no version when it was recorded, and no empty schema was given")
        return PinnedTable(path, -1, spark.createDataFrame([], empty_schema))
    return PinnedTable(path, version, spark.read.format("delta").option("versionAsOf", version).load(path))


def table_versions(*tables: PinnedTable) -> dict[str, int]:
    """``{path: version}`` of the inputs, to log beside the model (e.g. as MLflow params or tags)."""
    return {table.path: table.version for table in tables}
