"""Valid timestamps outside pandas' and Arrow's nanosecond range (a client may register at year 1 or 9999) in a
table Spark wrote: the asset metadata, the row counts and the other engines read them instead of failing the run.

Found when fuzzed rows reached the dev lake: Spark wrote them as legacy INT96, which Arrow reads as nanoseconds.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from deltalake import DeltaTable

from assets.core.metadata import delta_table_metadata
from pipelines.core.engines import compare_engines
from pipelines.core.inventory import arrow_dataset

TIMES = [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)]


@pytest.mark.parametrize("parquet_timestamps", ["factory default", "INT96"])
def test_spark_written_extreme_timestamps_read_everywhere(spark, tmp_path, parquet_timestamps):
    path = str(tmp_path / "users")
    frame = spark.createDataFrame([(f"u{n}", at) for n, at in enumerate(TIMES)], "user_id STRING, at TIMESTAMP")
    default = spark.conf.get("spark.sql.parquet.outputTimestampType")
    if parquet_timestamps == "INT96":  # a table written before the factory chose TIMESTAMP_MICROS
        spark.conf.set("spark.sql.parquet.outputTimestampType", "INT96")
    try:
        frame.write.format("delta").save(path)
    finally:
        spark.conf.set("spark.sql.parquet.outputTimestampType", default)

    table = DeltaTable(path)
    metadata = delta_table_metadata(table, path)
    assert metadata["row_count"].value == 2
    assert "0001-01-01" in metadata["preview"].value and "9999-12-31" in metadata["preview"].value
    assert sorted(arrow_dataset(table).to_table().column("at").to_pylist()) == TIMES
    view = compare_engines(spark, path)
    assert view.agrees, view.differences


def test_the_factory_writes_microsecond_timestamps(spark):
    assert spark.conf.get("spark.sql.parquet.outputTimestampType") == "TIMESTAMP_MICROS"
