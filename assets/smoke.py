"""Smoke assets: the shortest path through the platform (Kafka → Spark → Delta), kept as a health check."""

# No `from __future__ import annotations`: Dagster inspects the real `context` annotation at import.
from dagster import AssetExecutionContext, MaterializeResult, asset

from assets.metadata import delta_table_metadata
from assets.resources import LakehouseResource
from ingest.smoke import SMOKE_TOPIC
from lakehouse import lake
from pipelines.bronze import stream_topic_to_delta


@asset(group_name="smoke", kinds={"spark", "delta", "kafka"})
def smoke_events_bronze(context: AssetExecutionContext, lakehouse: LakehouseResource) -> MaterializeResult:
    """Every smoke-test event published to Kafka, raw, exactly once per Kafka record."""
    settings, spark = lakehouse.settings(), lakehouse.spark()
    path = lake.table_path(settings, "bronze", "smoke_events")
    stream_topic_to_delta(
        spark,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topic=SMOKE_TOPIC,
        table_path=path,
        checkpoint_path=lake.checkpoint_path(settings, "bronze", "smoke_events"),
    )
    context.log.info(f"{SMOKE_TOPIC} → {path}")
    return MaterializeResult(metadata=delta_table_metadata(spark, path))
