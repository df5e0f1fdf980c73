"""Keeping a domain's bronze → gold fresh: one job, a run every 15 minutes, and sooner when Kafka has new events.

The sensor only asks Kafka for the end offsets of the domain's topics (no Spark): when they moved since the last
run it requested, new events are waiting, so it asks for a run. Every run is idempotent, so an extra run (the
schedule and the sensor both firing) costs time, never correctness.
"""

import hashlib
import json
from collections.abc import Iterable

from dagster import (
    AssetSelection,
    Definitions,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    sensor,
)

from assets.resources import LakehouseResource


def topic_end_offsets(bootstrap_servers: str, topics: Iterable[str]) -> dict[str, int]:
    """Total records ever written per topic (sum of partition end offsets); 0 for a topic that does not exist."""
    from kafka import KafkaConsumer, TopicPartition  # only the sensor needs it, not the code location's load

    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    try:
        totals = {}
        for topic in topics:
            partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            totals[topic] = sum(consumer.end_offsets(partitions).values()) if partitions else 0
        return totals
    finally:
        consumer.close()


def domain_automation(domain: str, topics: Iterable[str]) -> Definitions:
    """The domain's job (its own group only), its 15-minute schedule and its new-events sensor."""
    job = define_asset_job(
        f"{domain}_lakehouse",
        selection=AssetSelection.groups(domain),
        description=f"{domain}: bronze → silver (with blocking quality checks) → gold.",
    )
    every_15_minutes = ScheduleDefinition(
        name=f"{domain}_every_15_minutes", job=job, cron_schedule="*/15 * * * *", execution_timezone="UTC"
    )
    watched = tuple(topics)

    @sensor(name=f"{domain}_events_waiting", job=job, minimum_interval_seconds=60)
    def events_waiting(context: SensorEvaluationContext, lakehouse: LakehouseResource) -> SensorResult | SkipReason:
        offsets = topic_end_offsets(lakehouse.settings().kafka_bootstrap_servers, watched)
        cursor = json.dumps(offsets, sort_keys=True)
        if cursor == context.cursor:
            return SkipReason(f"no new {domain} events since the last requested run")
        run_key = hashlib.sha256(cursor.encode()).hexdigest()[:16]
        return SensorResult(run_requests=[RunRequest(run_key=run_key)], cursor=cursor)

    return Definitions(jobs=[job], schedules=[every_15_minutes], sensors=[events_waiting])
