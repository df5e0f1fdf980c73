"""The Cassandra writer: consumes ``iot.telemetry`` and writes every reading to ``iot_telemetry_by_device``.

At least once, never lost: a pass polls a few batches, writes all their readings (prepared statement, many
requests in flight), sends what could not be parsed to ``iot.telemetry.dlq`` with the reason in its headers, and
only then commits the offsets of consumer group ``iot-cassandra-writer``. Killed before the commit, the next writer
writes the same batches again, which rewrites the same cells (the reading id is in the key). A malformed message
never stops the good ones behind it. A pass that fails (Cassandra or the broker down) commits nothing and rewinds the
consumer to the start of its poll, so the writer keeps running and writes the same batches once they are back: the
kill suite found it exiting on Cassandra's first refusal, and nothing restarted it. Reads of what it wrote:
`last_readings`, `readings_between`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from cassandra.cluster import Session
from cassandra.query import PreparedStatement
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from ingest.core.cassandra import open_session
from ingest.core.kafka_batch import assign_whole_topic, caught_up
from ingest.iot.contract import TELEMETRY_TOPIC
from ingest.iot.telemetry_io import parse_telemetry_message
from ingest.iot.telemetry_store import Row, batch_rows, last_readings, prepare_insert, readings_between, write_rows
from lakehouse.settings import Settings
from stack.bootstrap.kafka_topics import dlq_name

__all__ = ["WriterTotals", "last_readings", "readings_between", "run_writer", "write_pass"]
log = logging.getLogger(__name__)
GROUP = "iot-cassandra-writer"
MAX_POLL_RECORDS = 50  # up to 1,000 readings each: ~50,000 readings per pass
RETRY_S = 1.0  # after a failed pass; the Cassandra driver reconnects in the background meanwhile


@dataclass
class WriterTotals:
    messages: int = 0
    readings: int = 0
    dead: int = 0
    reasons: list[str] = field(default_factory=list)  # the latest few dead-letter reasons, for the operator

    def add(self, other: WriterTotals) -> None:
        self.messages, self.readings, self.dead = (
            self.messages + other.messages,
            self.readings + other.readings,
            self.dead + other.dead,
        )
        self.reasons = (self.reasons + other.reasons)[-10:]


@dataclass(frozen=True)
class WriterTopics:
    source: str = TELEMETRY_TOPIC
    dead_letters: str = dlq_name(TELEMETRY_TOPIC)
    group: str = GROUP


def dead_letter(producer: KafkaProducer, topic: str, record: ConsumerRecord, reason: str):  # noqa: ANN201
    """Forward ``record`` as it came, with why and where from in its headers."""
    headers = [
        ("reason", reason.encode()[:1000]),
        ("source_topic", record.topic.encode()),
        ("source_partition", str(record.partition).encode()),
        ("source_offset", str(record.offset).encode()),
    ]
    return producer.send(topic, key=record.key, value=record.value, headers=headers)


def write_pass(
    consumer: KafkaConsumer,
    producer: KafkaProducer,
    session: Session,
    insert: PreparedStatement,
    dead_letters: str,
    timeout_ms: int = 1000,
) -> WriterTotals:
    """One poll written (and dead-lettered) in full, then committed; the totals of what it did."""
    polled = consumer.poll(timeout_ms=timeout_ms, max_records=MAX_POLL_RECORDS)
    totals, rows, sent = WriterTotals(), list[Row](), []
    for record in (record for records in polled.values() for record in records):
        totals.messages += 1
        try:
            rows += batch_rows(parse_telemetry_message(record.value))
        except ValueError as error:
            totals.dead += 1
            totals.reasons.append(f"{record.topic}[{record.partition}]@{record.offset}: {error}")
            sent.append(dead_letter(producer, dead_letters, record, str(error)))
    try:
        write_rows(session, insert, rows)
        for future in sent:
            future.get(timeout=30)  # the dead letters are on Kafka before their offsets are committed
    except Exception:
        rewind(consumer, polled)  # nothing of this poll is committed: the next pass reads it again
        raise
    if totals.messages:
        consumer.commit()
    totals.readings = len(rows)
    return totals


def rewind(consumer: KafkaConsumer, polled: dict[TopicPartition, list[ConsumerRecord]]) -> None:
    """Put the consumer back at the first record of ``polled`` in every partition it still owns."""
    owned = consumer.assignment()
    for partition, records in polled.items():
        if records and partition in owned:
            consumer.seek(partition, records[0].offset)


def open_consumer(settings: Settings, topics: WriterTopics, *, batch: bool = False) -> KafkaConsumer:
    """A member of ``topics.group``; or with ``batch``, a consumer of the whole topic that reads and commits as the
    group without joining it (see ``ingest.core.kafka_batch``)."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=topics.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    if batch:
        assign_whole_topic(consumer, topics.source)
    else:
        consumer.subscribe([topics.source])
    return consumer


def run_writer(
    settings: Settings, topics: WriterTopics = WriterTopics(), *, until_idle: bool = False, idle_polls: int = 3
) -> WriterTotals:
    """Write until stopped, retrying a failed pass; or with ``until_idle`` until ``idle_polls`` polls in a row bring
    nothing at the topic's end, raising on a failed pass."""
    totals, idle = WriterTotals(), 0
    consumer = open_consumer(settings, topics, batch=until_idle)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", enable_idempotence=True)
    try:
        with open_session(settings) as session:
            insert = prepare_insert(session)
            while not until_idle or idle < idle_polls:
                try:
                    done = write_pass(consumer, producer, session, insert, topics.dead_letters)
                except Exception:  # Cassandra or the broker down: the poll was rewound, nothing is lost
                    if until_idle:
                        raise  # a batch run (the main job) stops with the error instead of waiting forever
                    log.exception("writer pass failed; its batches are written again in %.0fs", RETRY_S)
                    time.sleep(RETRY_S)
                    continue
                totals.add(done)
                if until_idle:  # a long-running writer never stops on idleness
                    idle = idle + 1 if done.messages == 0 and caught_up(consumer) else 0
                if done.dead:
                    log.warning("dead-lettered %d message(s): %s", done.dead, "; ".join(done.reasons))
    finally:
        consumer.close()
        producer.close(timeout=30)
    return totals
