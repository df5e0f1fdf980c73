"""NATS notifications on the real stack, through the test domain (tests/kitdemo/notices.py): the relay publishes to
Kafka and JetStream, JetStream stores a republished event once, consumers run each event's effect once, catch up
after being stopped, and dead-letter what they can never handle without stopping."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager

import nats
import psycopg
import pytest
from kafka import KafkaConsumer, TopicPartition
from kitdemo.notices import NoticePostedV1, fail_always, notice_type, notices_contract, post_notices, subscriptions
from psycopg_pool import ConnectionPool

from ingest.core.contract import DomainContract
from ingest.core.notification_delivery import CONSUMER, EVENT_ID, ORIGINAL_SUBJECT, REASON
from ingest.core.notification_subjects import dead_letter_subject, stream_for, subject_for
from ingest.core.notifications import ConsumerOptions, Subscription, run_consumers
from ingest.core.relay import RelaySources, open_relay, relay_once, relay_pass
from ingest.core.storage import KIT_STORAGE
from lakehouse.settings import Settings
from stack.bootstrap import apply_all
from stack.bootstrap.nats_streams import DEAD_LETTER_STREAM

pytestmark = pytest.mark.integration


class SimulatedCrash(RuntimeError):
    """The relay dies after publishing, before marking its batch sent."""


@pytest.fixture
def pool(stack_settings: Settings) -> Iterator[ConnectionPool]:
    with ConnectionPool(stack_settings.postgres_url, min_size=1, max_size=2, name="notices") as opened:
        yield opened


@pytest.fixture
def contract(stack_settings: Settings, unique_name: str) -> DomainContract:
    declared = notices_contract(unique_name)
    apply_all(stack_settings, [KIT_STORAGE, declared.storage], progress=lambda line: None)
    return declared


def relay(settings: Settings, pool: ConnectionPool, contract: DomainContract) -> int:
    @contextmanager
    def open_sources(_: Settings) -> Iterator[RelaySources]:
        yield RelaySources("kitdemo", pool)

    return relay_pass(settings, open_sources, notifications=contract.notifications)


def notices(run: str, count: int, start: int = 0) -> list[NoticePostedV1]:
    return [NoticePostedV1(notice_id=f"{run}-n{i}", text=f"notice {i}") for i in range(start, start + count)]


def received(pool: ConnectionPool, run: str) -> list[tuple[str, int]]:
    with pool.connection() as conn:
        return conn.execute(
            "SELECT notice_id, count(*) FROM kitdemo.notices_received WHERE notice_id LIKE %s"
            " GROUP BY notice_id ORDER BY notice_id",
            (f"{run}-%",),
        ).fetchall()


async def _jetstream(settings: Settings, work):  # noqa: ANN001, ANN202 - a test helper around one connection
    client = await nats.connect(settings.nats_url)
    try:
        return await work(client.jetstream())
    finally:
        await client.close()


def stored_on(settings: Settings, subject: str, stream: str) -> int:
    async def count(js):  # noqa: ANN001, ANN202
        info = await js.stream_info(stream, subjects_filter=subject)
        return (info.state.subjects or {}).get(subject, 0)

    return asyncio.run(_jetstream(settings, count))


def read_subject(settings: Settings, subject: str, stream: str, expected: int) -> list[nats.aio.msg.Msg]:
    async def read(js):  # noqa: ANN001, ANN202
        subscription = await js.pull_subscribe(subject, stream=stream)
        messages = await subscription.fetch(expected, timeout=5)
        await subscription.unsubscribe()
        return messages

    return asyncio.run(_jetstream(settings, read))


def publish_raw(settings: Settings, subject: str, payloads: list[bytes]) -> None:
    async def publish(js):  # noqa: ANN001, ANN202
        for payload in payloads:
            await js.publish(subject, payload)

    asyncio.run(_jetstream(settings, publish))


def kafka_values(settings: Settings, topic: str) -> list[bytes]:
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False)
    partition = TopicPartition(topic, 0)
    consumer.assign([partition])
    consumer.seek_to_beginning(partition)
    end = consumer.end_offsets([partition])[partition]
    values: list[bytes] = []
    while len(values) < end:
        for records in consumer.poll(timeout_ms=2000).values():
            values.extend(record.value for record in records)
    consumer.close()
    return values


def test_the_relay_publishes_to_kafka_and_jetstream_and_a_republished_event_is_stored_once(
    stack_settings, pool, contract, unique_name
):
    event_ids = post_notices(pool, contract, notices(unique_name, 3))

    def crash() -> None:
        raise SimulatedCrash

    @contextmanager
    def open_sources(_: Settings) -> Iterator[RelaySources]:
        yield RelaySources("kitdemo", pool)

    with (
        open_relay(stack_settings, open_sources, contract.notifications) as (sources, producer),
        pytest.raises(SimulatedCrash),
    ):
        relay_once(sources, producer, batch_size=100_000, after_publish=crash)
    assert relay(stack_settings, pool, contract) >= 3  # the same batch again: it was never marked sent

    subject = subject_for(notice_type(unique_name))
    kafka = [json.loads(value)["event_id"] for value in kafka_values(stack_settings, contract.entities["notices"])]
    assert sorted(kafka) == sorted(event_ids * 2)  # Kafka: at least once
    assert stored_on(stack_settings, subject, stream_for(notice_type(unique_name))) == 3  # JetStream: once
    messages = read_subject(stack_settings, subject, stream_for(notice_type(unique_name)), 3)
    assert sorted(m.headers["Nats-Msg-Id"] for m in messages) == sorted(event_ids)
    assert sorted(json.loads(m.data)["event_id"] for m in messages) == sorted(event_ids)


def test_a_consumer_runs_each_events_effect_once_however_often_it_is_delivered(
    stack_settings, pool, contract, unique_name
):
    event_ids = post_notices(pool, contract, notices(unique_name, 3))
    relay(stack_settings, pool, contract)
    # Past the duplicate window the relay's republish is a new message: the inbox must absorb it.
    subject = subject_for(notice_type(unique_name))
    with pool.connection() as conn:
        (first_text,) = conn.execute(
            "SELECT envelope FROM kitdemo.outbox WHERE event_id = %s", (event_ids[0],)
        ).fetchone()
    publish_raw(stack_settings, subject, [first_text.encode()])

    report = run_consumers(stack_settings, "kitdemo", subscriptions(unique_name), until_idle=True)

    assert (report.handled, report.duplicates, report.dead_lettered) == (3, 1, 0)
    assert received(pool, unique_name) == [(f"{unique_name}-n{i}", 1) for i in range(3)]
    again = run_consumers(stack_settings, "kitdemo", subscriptions(unique_name), until_idle=True)
    assert (again.handled, again.duplicates) == (0, 0)  # acknowledged: never delivered again
    with pool.connection() as conn:
        inbox = conn.execute("SELECT count(*) FROM kitdemo.inbox WHERE event_id = ANY(%s)", (event_ids,)).fetchone()
    assert inbox == (3,)


def test_a_consumer_stopped_while_events_are_published_catches_up_with_nothing_lost(
    stack_settings, pool, contract, unique_name
):
    post_notices(pool, contract, notices(unique_name, 4))
    relay(stack_settings, pool, contract)
    first = run_consumers(stack_settings, "kitdemo", subscriptions(unique_name), until_idle=True)
    # The consumer is down: two more batches are published meanwhile.
    post_notices(pool, contract, notices(unique_name, 5, start=4))
    relay(stack_settings, pool, contract)
    post_notices(pool, contract, notices(unique_name, 6, start=9))
    relay(stack_settings, pool, contract)

    small_batches = ConsumerOptions(batch_size=4)
    second = run_consumers(
        stack_settings, "kitdemo", subscriptions(unique_name), until_idle=True, options=small_batches
    )

    assert (first.handled, second.handled) == (4, 11)
    assert received(pool, unique_name) == sorted((f"{unique_name}-n{i}", 1) for i in range(15))


def test_a_poison_message_is_dead_lettered_with_its_reason_and_the_next_one_is_handled(
    stack_settings, pool, contract, unique_name
):
    poison = NoticePostedV1(notice_id=f"{unique_name}-poison", text="bad", poison=True)
    (poison_id,) = post_notices(pool, contract, [poison])
    relay(stack_settings, pool, contract)
    subject = subject_for(notice_type(unique_name))
    publish_raw(stack_settings, subject, [b"{oops"])
    post_notices(pool, contract, notices(unique_name, 1))
    relay(stack_settings, pool, contract)

    report = run_consumers(stack_settings, "kitdemo", subscriptions(unique_name), until_idle=True)

    assert (report.handled, report.dead_lettered) == (1, 2)
    assert received(pool, unique_name) == [(f"{unique_name}-n0", 1)]
    dead = read_subject(
        stack_settings, dead_letter_subject("kitdemo", notice_type(unique_name)), "LAKEHOUSE_DEAD_LETTER", 2
    )
    assert DEAD_LETTER_STREAM.name == "LAKEHOUSE_DEAD_LETTER"
    by_reason = {m.headers[REASON]: m for m in dead}
    assert set(by_reason) == {
        f"notice {unique_name}-poison asks to be refused",
        "unparsable envelope: invalid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
    }
    refused = by_reason[f"notice {unique_name}-poison asks to be refused"]
    assert (refused.headers[EVENT_ID], refused.headers[ORIGINAL_SUBJECT], refused.headers[CONSUMER]) == (
        poison_id,
        subject,
        "kitdemo",
    )
    assert json.loads(refused.data)["event_id"] == poison_id  # the original message, byte for byte


def test_a_handler_that_keeps_failing_is_retried_then_dead_lettered(stack_settings, pool, contract, unique_name):
    (event_id,) = post_notices(pool, contract, notices(unique_name, 1))
    relay(stack_settings, pool, contract)
    broken = (Subscription(notice_type(unique_name), fail_always),)

    report = run_consumers(
        stack_settings, "kitdemo", broken, until_idle=True, options=ConsumerOptions(max_deliver=3, retry_delay_s=0)
    )

    assert (report.handled, report.retried, report.dead_lettered) == (0, 2, 1)
    (dead,) = read_subject(
        stack_settings, dead_letter_subject("kitdemo", notice_type(unique_name)), "LAKEHOUSE_DEAD_LETTER", 1
    )
    assert dead.headers[EVENT_ID] == event_id
    assert dead.headers[REASON].startswith("failed 3 times, last: RuntimeError(")
    with psycopg.connect(stack_settings.postgres_url) as conn:  # every failed attempt was rolled back
        assert conn.execute("SELECT count(*) FROM kitdemo.inbox WHERE event_id = %s", (event_id,)).fetchone() == (0,)
