"""The Cassandra writer on the real stack: batches from the topic become rows, a malformed message goes to the
dead-letter topic with its reason while the good ones around it are written, a redelivered batch rewrites the
same rows, and `last_readings` / `readings_between` read them back newest / oldest first across days.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from ingest.core.cassandra import open_session
from ingest.core.storage import KIT_STORAGE
from ingest.iot.cassandra_writer import (
    WriterTopics,
    last_readings,
    open_consumer,
    readings_between,
    run_writer,
    write_pass,
)
from ingest.iot.contract import CONTRACT, ReadingV1, TelemetryBatchV1, reading_id
from ingest.iot.telemetry_producer import open_telemetry_producer, produce_batch
from ingest.iot.telemetry_store import prepare_insert
from lakehouse.settings import Settings
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration
NOW = datetime(2026, 6, 2, 0, 30, tzinfo=UTC)  # half an hour into a day: the last hour spans two partitions


@pytest.fixture(scope="module")
def iot_settings(stack_settings: Settings) -> Settings:
    apply_all(stack_settings, [KIT_STORAGE, CONTRACT.storage], progress=lambda line: None)
    return stack_settings


@pytest.fixture
def topics(iot_settings: Settings, unique_name: str) -> WriterTopics:
    source = f"{unique_name}.telemetry"
    admin = KafkaAdminClient(bootstrap_servers=iot_settings.kafka_bootstrap_servers)
    admin.create_topics([NewTopic(t, num_partitions=2, replication_factor=1) for t in (source, f"{source}.dlq")])
    admin.close()
    return WriterTopics(source=source, dead_letters=f"{source}.dlq", group=f"writer-{unique_name}")


def batch(device_id: str, batch_id: str, minutes: range) -> TelemetryBatchV1:
    """One reading a minute, ``minutes`` before NOW; the value is the minute (to check order)."""
    rows = []
    for minute in minutes:
        ts = NOW - timedelta(minutes=minute)
        rows.append(
            ReadingV1(
                reading_id=reading_id(device_id, "temperature", ts, None), sensor="temperature", ts=ts, value=minute
            )
        )
    return TelemetryBatchV1(batch_id=batch_id, device_id=device_id, accepted_at=NOW, readings=rows)


def dead_letters(settings: Settings, topic: str) -> list[tuple[bytes, dict[str, bytes]]]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    try:
        return [(r.value, dict(r.headers)) for r in consumer]
    finally:
        consumer.close()


def test_good_batches_are_written_and_a_malformed_one_is_dead_lettered_with_its_reason(
    iot_settings: Settings, topics: WriterTopics, unique_name: str
) -> None:
    device = f"dev-{unique_name}"
    producer = open_telemetry_producer(iot_settings)
    produce_batch(producer, batch(device, "b-1", range(0, 30)), topics.source)
    raw = KafkaProducer(bootstrap_servers=iot_settings.kafka_bootstrap_servers)
    raw.send(topics.source, key=device.encode(), value=b'{"type": "iot.telemetry.batch", "version": 1}').get(30)
    raw.send(topics.source, key=device.encode(), value=b"\xff not json").get(30)
    raw.close()
    produce_batch(producer, batch(device, "b-2", range(30, 60)), topics.source)
    produce_batch(producer, batch(device, "b-1", range(0, 30)), topics.source)  # redelivered: the same rows again
    producer.close()

    totals = run_writer(iot_settings, topics, until_idle=True)
    assert (totals.messages, totals.readings, totals.dead) == (5, 90, 2)

    letters = dead_letters(iot_settings, topics.dead_letters)
    assert sorted(value for value, _ in letters) == sorted(
        [b'{"type": "iot.telemetry.batch", "version": 1}', b"\xff not json"]
    )
    reasons = sorted(headers["reason"].decode() for _, headers in letters)
    assert reasons[0].startswith("invalid payload") and reasons[1].startswith("not JSON")
    assert all(headers["source_topic"].decode() == topics.source for _, headers in letters)

    with open_session(iot_settings) as session:
        latest = last_readings(session, device, 45, now=NOW)
        everything = readings_between(session, device, NOW - timedelta(hours=2), NOW + timedelta(minutes=1))
    assert [r.value for r in latest] == list(range(0, 45))  # newest first, across the day boundary
    assert (
        latest[0].ts == NOW
        and latest[0].batch_id == "b-1"
        and latest[0].reading_id == reading_id(device, "temperature", NOW, None)
    )
    assert [r.value for r in everything] == list(range(59, -1, -1))  # oldest first, each reading once

    assert run_writer(iot_settings, topics, until_idle=True).messages == 0  # committed: nothing read twice


def test_a_pass_that_cannot_write_commits_nothing_and_the_next_pass_writes_it_all(
    iot_settings: Settings, topics: WriterTopics, unique_name: str
) -> None:
    device = f"dev-{unique_name}"
    producer = open_telemetry_producer(iot_settings)
    produce_batch(producer, batch(device, "b-1", range(0, 20)), topics.source)
    produce_batch(producer, batch(device, "b-2", range(20, 40)), topics.source)
    producer.close()
    consumer = open_consumer(iot_settings, topics)
    dlq = KafkaProducer(bootstrap_servers=iot_settings.kafka_bootstrap_servers)
    try:
        with open_session(iot_settings) as broken:  # a real session, shut down: every write is refused
            insert = prepare_insert(broken)
            broken.cluster.shutdown()
            failed = 0
            while failed == 0:  # the first passes may bring nothing while the consumer joins its group
                try:
                    write_pass(consumer, dlq, broken, insert, topics.dead_letters)
                except Exception:  # noqa: BLE001 - whatever the driver raises for a shut-down cluster
                    failed += 1
        assert not any(consumer.committed(p) for p in consumer.assignment())  # nothing committed
        with open_session(iot_settings) as session:
            insert, written = prepare_insert(session), 0
            for _ in range(20):  # bounded: without the rewind, the polled batches never come back
                written += write_pass(consumer, dlq, session, insert, topics.dead_letters).readings
            stored = readings_between(session, device, NOW - timedelta(hours=2), NOW + timedelta(hours=1))
    finally:
        consumer.close()
        dlq.close()
    assert written == 40  # the rewound poll is read again, once
    assert sorted(r.value for r in stored) == list(range(40))
