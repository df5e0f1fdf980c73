from __future__ import annotations

from datetime import datetime

from pyspark.sql import types as T

from pipelines.core.bronze import BRONZE_COLUMNS, bronze_records

KAFKA_SOURCE_SCHEMA = T.StructType(
    [
        T.StructField("key", T.BinaryType()),
        T.StructField("value", T.BinaryType()),
        T.StructField("topic", T.StringType()),
        T.StructField("partition", T.IntegerType()),
        T.StructField("offset", T.LongType()),
        T.StructField("timestamp", T.TimestampType()),
        T.StructField("timestampType", T.IntegerType()),
    ]
)


def test_bronze_keeps_payload_as_text_and_provenance(spark):
    at = datetime(2026, 1, 2, 3, 4, 5)
    rows = [(b"k1", b'{"a": 1}', "orders", 0, 7, at, 0), (None, "é".encode(), "orders", 2, 9, at, 0)]
    result = bronze_records(spark.createDataFrame(rows, KAFKA_SOURCE_SCHEMA))
    assert tuple(result.columns) == BRONZE_COLUMNS
    got = sorted((r.offset, r.key, r.value, r.topic, r.partition, r.kafka_timestamp) for r in result.collect())
    assert got == [(7, "k1", '{"a": 1}', "orders", 0, at), (9, None, "é", "orders", 2, at)]
    assert all(r.ingested_at is not None for r in result.collect())
