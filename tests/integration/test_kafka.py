"""Kafka round trip on the real local broker: what a producer sends with acks=all, a consumer group reads."""

from __future__ import annotations

import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from lakehouse.settings import Settings

pytestmark = pytest.mark.integration

MESSAGES = 50


def test_produced_messages_come_back_to_a_consumer_group(stack_settings: Settings, unique_name: str) -> None:
    servers = stack_settings.kafka_bootstrap_servers
    topic = f"lakehouse-test-{unique_name}"
    expected = [f"event-{number:03d}".encode() for number in range(MESSAGES)]

    admin = KafkaAdminClient(bootstrap_servers=servers, request_timeout_ms=10_000)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)], timeout_ms=10_000)
        assert topic in admin.list_topics()

        producer = KafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=5)
        try:
            for number, payload in enumerate(expected):
                producer.send(topic, key=str(number % 7).encode(), value=payload)
            producer.flush(timeout=30)
        finally:
            producer.close(timeout=10)

        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=servers,
            group_id=f"group-{unique_name}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        received: list[bytes] = []
        try:
            deadline = time.monotonic() + 60
            while len(received) < MESSAGES and time.monotonic() < deadline:
                for records in consumer.poll(timeout_ms=1000).values():
                    received.extend(record.value for record in records)
            consumer.commit()
            # Anything beyond what was produced (duplicates, strays) must show up here too.
            received.extend(record.value for records in consumer.poll(timeout_ms=2000).values() for record in records)
        finally:
            consumer.close()

        # Two partitions: order holds per key, not overall, so compare as sorted lists (duplicates count).
        assert sorted(received) == sorted(expected)
    finally:
        admin.delete_topics([topic], raise_errors=False)
        admin.close()
