"""Bronze: Kafka topics land in Delta unchanged, with where each record came from.

Structured Streaming with an available-now trigger and one checkpoint per table: every run picks up exactly
the records the last run did not, so re-running never duplicates rows.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

BRONZE_COLUMNS = ("key", "value", "topic", "partition", "offset", "kafka_timestamp", "ingested_at")


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


def stream_topic_to_delta(
    spark: SparkSession, *, bootstrap_servers: str, topic: str, table_path: str, checkpoint_path: str
) -> None:
    """Append everything new on ``topic`` to the Delta table at ``table_path``, then stop."""
    source = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap_servers)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("failOnDataLoss", "false")
        .load()
    )
    query = (
        bronze_records(source)
        .writeStream.format("delta")
        .option("checkpointLocation", checkpoint_path)
        .outputMode("append")
        .trigger(availableNow=True)
        .start(table_path)
    )
    query.awaitTermination()
