"""Throwaway events for tests of the bare Kafka → Spark → Delta path (no domain, no contract)."""

from __future__ import annotations

from collections.abc import Iterator

from kafka import KafkaProducer

from ingest.core.envelope import EventEnvelope


def smoke_events(count: int, run_id: str) -> Iterator[EventEnvelope]:
    for sequence in range(count):
        yield EventEnvelope(
            type="smoke.ping",
            version=1,
            key=f"{run_id}-{sequence % 7}",
            payload={"run_id": run_id, "sequence": sequence},
        )


def publish(bootstrap_servers: str, topic: str, events: Iterator[EventEnvelope]) -> int:
    """Send with acks=all and the idempotent producer; returns how many the broker acknowledged."""
    producer = KafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", enable_idempotence=True, linger_ms=5)
    try:
        futures = [producer.send(topic, key=event.key.encode(), value=event.to_json()) for event in events]
        producer.flush()
        return sum(1 for future in futures if future.get(timeout=30))
    finally:
        producer.close()
