"""Keeping e-commerce bronze → gold fresh: a run every 15 minutes, and sooner when Kafka has new events.

The sensor only asks Kafka for the end offsets of the e-commerce topics (no Spark): when they moved since the
last run it requested, new events are waiting, so it asks for a run. Every run is idempotent, so an extra run
(the schedule and the sensor both firing) costs time, never correctness.
"""

import hashlib
import json
from collections.abc import Iterable

from dagster import (
    AssetSelection,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    in_process_executor,
    schedule,
    sensor,
)
from kafka import KafkaConsumer, TopicPartition

from assets.resources import LakehouseResource
from pipelines.ecommerce.flows import ENTITY_TOPICS

ecommerce_job = define_asset_job(
    "ecommerce_lakehouse",
    selection=AssetSelection.groups("bronze", "silver", "gold"),
    # One process, one Spark session for the whole run: a JVM per step would cost more than the work.
    executor_def=in_process_executor,
    description="E-commerce bronze → silver (with blocking quality checks) → gold.",
)


@schedule(job=ecommerce_job, cron_schedule="*/15 * * * *", execution_timezone="UTC")
def ecommerce_every_15_minutes() -> RunRequest:
    return RunRequest()


def topic_end_offsets(bootstrap_servers: str, topics: Iterable[str]) -> dict[str, int]:
    """Total records ever written per topic (sum of partition end offsets); 0 for a topic that does not exist."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    try:
        totals = {}
        for topic in topics:
            partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            totals[topic] = sum(consumer.end_offsets(partitions).values()) if partitions else 0
        return totals
    finally:
        consumer.close()


@sensor(job=ecommerce_job, minimum_interval_seconds=60)
def ecommerce_events_waiting(
    context: SensorEvaluationContext, lakehouse: LakehouseResource
) -> SensorResult | SkipReason:
    offsets = topic_end_offsets(lakehouse.settings().kafka_bootstrap_servers, ENTITY_TOPICS.values())
    cursor = json.dumps(offsets, sort_keys=True)
    if cursor == context.cursor:
        return SkipReason("no new e-commerce events since the last requested run")
    run_key = hashlib.sha256(cursor.encode()).hexdigest()[:16]
    return SensorResult(run_requests=[RunRequest(run_key=run_key)], cursor=cursor)
