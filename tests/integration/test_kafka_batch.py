"""Batch consumers on the real broker: a batch run reads a two-partition topic from the group's committed offsets to
its end and commits as the group without joining it; a missing topic is a clear error; a group with a running
member refuses the batch run's commit."""

from __future__ import annotations

import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import CommitFailedError

from ingest.core.kafka_batch import TopicNotFound, assign_whole_topic, caught_up
from lakehouse.settings import Settings

pytestmark = pytest.mark.integration


def _produce(settings: Settings, topic: str, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    try:
        for number, value in enumerate(values):
            producer.send(topic, key=str(number % 5).encode(), value=value)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


def _consumer(settings: Settings, group: str) -> KafkaConsumer:
    return KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )


def _batch(settings: Settings, topic: str, group: str) -> list[bytes]:
    consumer = _consumer(settings, group)
    try:
        assert len(assign_whole_topic(consumer, topic)) == 2
        read: list[bytes] = []
        while not caught_up(consumer):
            polled = consumer.poll(timeout_ms=200, max_records=7)
            read += [record.value for records in polled.values() for record in records]
            if polled:
                consumer.commit()
        return read
    finally:
        consumer.close()


def test_a_batch_run_reads_from_the_groups_offsets_to_the_end(stack_settings: Settings, unique_name: str) -> None:
    topic, group = f"batch-{unique_name}", f"group-{unique_name}"
    admin = KafkaAdminClient(bootstrap_servers=stack_settings.kafka_bootstrap_servers)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)], timeout_ms=10_000)
    finally:
        admin.close()
    first = [f"first-{number}".encode() for number in range(40)]
    _produce(stack_settings, topic, first)
    assert sorted(_batch(stack_settings, topic, group)) == sorted(first)

    later = [f"later-{number}".encode() for number in range(9)]
    _produce(stack_settings, topic, later)
    assert sorted(_batch(stack_settings, topic, group)) == sorted(later)  # committed: nothing read twice
    assert _batch(stack_settings, topic, group) == []

    # A long-running member holds the group: the broker refuses a batch run's commit instead of letting both move it.
    member = KafkaConsumer(
        topic, bootstrap_servers=stack_settings.kafka_bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    try:
        deadline = time.monotonic() + 60
        while not member.assignment() and time.monotonic() < deadline:
            member.poll(timeout_ms=200)
        assert member.assignment()
        _produce(stack_settings, topic, [b"contested"])
        with pytest.raises(CommitFailedError):
            _batch(stack_settings, topic, group)
    finally:
        member.close()


def test_a_topic_that_does_not_exist_is_named(stack_settings: Settings, unique_name: str) -> None:
    consumer = KafkaConsumer(bootstrap_servers=stack_settings.kafka_bootstrap_servers, allow_auto_create_topics=False)
    try:
        with pytest.raises(TopicNotFound, match=f"topic missing-{unique_name} has no partitions after 1 s"):
            assign_whole_topic(consumer, f"missing-{unique_name}", wait_s=1.0)
    finally:
        consumer.close()
