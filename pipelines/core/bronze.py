"""Bronze: Kafka topics land in Delta unchanged, with where each record came from.

Structured Streaming with an available-now trigger and one checkpoint per table: every run picks up exactly
the records the last run did not, so re-running never duplicates rows.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.streaming import StreamingQuery

BRONZE_COLUMNS = ("key", "value", "topic", "partition", "offset", "kafka_timestamp", "ingested_at")
# What :func:`bronze_records` writes: lets a long-running silver stream start before bronze has its first record.
BRONZE_SCHEMA = T.StructType(
    [
        T.StructField("key", T.StringType()),
        T.StructField("value", T.StringType()),
        T.StructField("topic", T.StringType()),
        T.StructField("partition", T.IntegerType()),
        T.StructField("offset", T.LongType()),
        T.StructField("kafka_timestamp", T.TimestampType()),
        T.StructField("ingested_at", T.TimestampType()),
    ]
)


def bronze_records(kafka_rows: DataFrame) -> DataFrame:
    """Kafka source rows → bronze rows: payload as text, provenance kept, nothing parsed yet."""
    return kafka_rows.select(
        F.col("key").cast("string").alias("key"),
        F.col("value").cast("string").alias("value"),
        "topic",
        "partition",
        "offset",
        F.col("timestamp").alias("kafka_timestamp"),
        F.current_timestamp().alias("ingested_at"),
    )


def kafka_records(spark: SparkSession, *, bootstrap_servers: str, topic: str) -> DataFrame:
    """``topic`` from its first record as a stream of bronze-shaped rows (what bronze stores, or a silver flow
    reads straight from Kafka when it cannot wait for bronze)."""
    source = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap_servers)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("failOnDataLoss", "false")
        .load()
    )
    return bronze_records(source)


def stream_topic_to_delta(
    spark: SparkSession, *, bootstrap_servers: str, topic: str, table_path: str, checkpoint_path: str
) -> None:
    """Append everything new on ``topic`` to the Delta table at ``table_path``, then stop."""
    start_topic_to_delta(
        spark, bootstrap_servers=bootstrap_servers, topic=topic, table_path=table_path, checkpoint_path=checkpoint_path
    ).awaitTermination()


def start_topic_to_delta(
    spark: SparkSession,
    *,
    bootstrap_servers: str,
    topic: str,
    table_path: str,
    checkpoint_path: str,
    trigger_seconds: float | None = None,
) -> StreamingQuery:
    """Start landing ``topic`` in bronze: available-now (``trigger_seconds`` None) or every ``trigger_seconds``.

    Both modes share the checkpoint, so a long-running stream and an available-now run pick up where the other
    stopped (never both at once: one checkpoint has one writer).
    """
    writer = (
        kafka_records(spark, bootstrap_servers=bootstrap_servers, topic=topic)
        .writeStream.format("delta")
        .option("checkpointLocation", checkpoint_path)
        .outputMode("append")
    )
    trigger = {"availableNow": True} if trigger_seconds is None else {"processingTime": f"{trigger_seconds} seconds"}
    return writer.trigger(**trigger).start(table_path)
