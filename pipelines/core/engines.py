"""Does another engine read a Delta table as Spark does? Rows, columns and protocol, for one table.

The lake is meant to open unchanged in Databricks, delta-rs, DuckDB and Trino: that holds only while every table
keeps the base protocol (reader 1 / writer 2, `lakehouse/spark.py`) and every engine resolves the same snapshot.
This compares Spark's view of a table with delta-rs's (the log and schema) and DuckDB's (a full scan of the files
delta-rs resolves); the main job's end-to-end test runs it on every table the job writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import duckdb
from deltalake import DeltaTable
from pyspark.sql import SparkSession

from pipelines.core.inventory import arrow_dataset

# The protocol every reader opens; a table above it locks some readers out (deletion vectors, column mapping...).
OPEN_PROTOCOL = (1, 2)


@dataclass(frozen=True)
class EngineView:
    path: str
    spark_rows: int
    delta_rs_rows: int
    duckdb_rows: int
    protocol: tuple[int, int]
    differences: list[str] = field(default_factory=list)  # empty when every engine agrees

    @property
    def agrees(self) -> bool:
        return not self.differences


def _fields(schema_json: str | dict) -> list[tuple[str, str]]:
    """(name, type) per top-level column, the type in the Delta log's own JSON (nested types compared whole)."""
    schema = json.loads(schema_json) if isinstance(schema_json, str) else schema_json
    return [(column["name"], json.dumps(column["type"], sort_keys=True)) for column in schema["fields"]]


def duckdb_rows(table: DeltaTable) -> tuple[int, list[str]]:
    """Rows and column names as DuckDB scans the snapshot's files."""
    dataset = arrow_dataset(table)  # noqa: F841 - DuckDB reads the local Arrow dataset by its name
    with duckdb.connect() as con:
        rows = con.execute("SELECT count(*) FROM dataset").fetchone()[0]
        columns = [column[0] for column in con.execute("SELECT * FROM dataset LIMIT 0").description]
    return rows, columns


def compare_engines(spark: SparkSession, path: str) -> EngineView:
    frame = spark.read.format("delta").load(path)
    spark_rows, spark_fields = frame.count(), _fields(frame.schema.jsonValue())
    table = DeltaTable(path)
    protocol = table.protocol()
    opened = (protocol.min_reader_version, protocol.min_writer_version)
    differences = [] if opened == OPEN_PROTOCOL else [f"protocol {opened[0]}/{opened[1]}, not 1/2"]
    try:
        delta_rs_rows, delta_rs_fields = arrow_dataset(table).count_rows(), _fields(table.schema().to_json())
        scanned, duckdb_columns = duckdb_rows(table)
    except Exception as error:  # noqa: BLE001 - an engine that cannot read the table is the finding itself
        differences.append(f"delta-rs/DuckDB cannot read it: {type(error).__name__}: {error}")
        return EngineView(path, spark_rows, -1, -1, opened, differences)
    if not spark_rows == delta_rs_rows == scanned:
        differences.append(f"rows: Spark {spark_rows}, delta-rs {delta_rs_rows}, DuckDB {scanned}")
    if delta_rs_fields != spark_fields:
        differences.append(f"schema: Spark {spark_fields}, delta-rs {delta_rs_fields}")
    if duckdb_columns != [name for name, _ in spark_fields]:
        differences.append(f"columns: Spark {[name for name, _ in spark_fields]}, DuckDB {duckdb_columns}")
    return EngineView(path, spark_rows, delta_rs_rows, scanned, opened, differences)
