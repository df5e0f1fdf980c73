"""The kit relay's batch path on the real stack: a message Kafka refuses mid-batch stays unsent with its key's later
events while the rest are marked, also when the next batch is already in flight (the pipelined drain); a drain
killed between batches rolls back what it had not marked and the next one publishes it; product events are marked sent in bulk (in chunks FerretDB answers); a relay
killed after publishing product events publishes them again, never loses one."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from psycopg import sql
from psycopg_pool import ConnectionPool
from pymongo import MongoClient

from ingest.core.relay import (
    OpenSources,
    PublishError,
    RelaySources,
    drain_outbox,
    open_producer,
    open_relay,
    relay_documents,
    relay_outbox,
)
from ingest.ecommerce import catalog
from ingest.ecommerce.commands import UpsertProduct
from ingest.ecommerce.contract import ProductUpsertedV1, build_event
from ingest.ecommerce.relay import CatalogEvents
from lakehouse.settings import Settings

pytestmark = pytest.mark.integration
TOO_LARGE = "x" * 2_000_000  # over the producer's 1 MiB max_request_size: refused at send, for this message only


class SimulatedCrash(RuntimeError):
    pass


@pytest.fixture
def topic(stack_settings: Settings, unique_name: str) -> Iterator[str]:
    admin = KafkaAdminClient(bootstrap_servers=stack_settings.kafka_bootstrap_servers)
    admin.create_topics([NewTopic(unique_name, num_partitions=1, replication_factor=1)])
    try:
        yield unique_name
    finally:
        admin.delete_topics([unique_name])
        admin.close()


@pytest.fixture
def scratch_outbox(stack_settings: Settings, unique_name: str) -> Iterator[ConnectionPool]:
    """An outbox of its own (``<unique_name>.outbox``, made by the kit's function), dropped afterwards."""
    with ConnectionPool(stack_settings.postgres_url, min_size=1, max_size=2, name=unique_name) as pool:
        with pool.connection() as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(unique_name)))
            conn.execute("SELECT lakehouse_kit.create_outbox(%s)", (unique_name,))
        try:
            yield pool
        finally:
            with pool.connection() as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(unique_name)))


def add_rows(pool: ConnectionPool, schema: str, topic: str, rows: list[tuple[str, str]]) -> list[str]:
    """Outbox rows of (key, text) in this order; returns their event ids."""
    event_ids = [str(uuid.uuid4()) for _ in rows]
    insert = sql.SQL(
        "INSERT INTO {} (event_id, topic, message_key, event_type, event_version, envelope) VALUES (%s, %s, %s, 't', 1, %s)"
    ).format(sql.Identifier(schema, "outbox"))
    with pool.connection() as conn, conn.cursor() as cursor:
        cursor.executemany(
            insert,
            [
                (event_id, topic, key, json.dumps({"event_id": event_id, "padding": text}))
                for event_id, (key, text) in zip(event_ids, rows, strict=True)
            ],
        )
    return event_ids


def scratch_sources(schema: str, pool: ConnectionPool) -> OpenSources:
    """The relay's sources for the scratch outbox alone (no projections, documents or notifications)."""

    @contextmanager
    def open_sources(_: Settings) -> Iterator[RelaySources]:
        yield RelaySources(schema, pool)

    return open_sources


def unsent(pool: ConnectionPool, schema: str) -> set[str]:
    query = sql.SQL("SELECT event_id::text FROM {} WHERE sent_at IS NULL").format(sql.Identifier(schema, "outbox"))
    with pool.connection() as conn:
        return {row[0] for row in conn.execute(query)}


def on_kafka(settings: Settings, topic: str) -> list[tuple[str, str]]:
    """(key, event id) of every message on the one-partition ``topic``, in log order, duplicates included."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False)
    partition = TopicPartition(topic, 0)
    try:
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        end = consumer.end_offsets([partition])[partition]
        found: list[tuple[str, str]] = []
        while consumer.position(partition) < end:
            for records in consumer.poll(timeout_ms=1000).values():
                found += [(r.key.decode(), json.loads(r.value)["event_id"]) for r in records]
        return found
    finally:
        consumer.close()


def test_a_refused_message_stays_unsent_with_its_keys_later_events_and_a_retry_restores_their_order(
    stack_settings: Settings, scratch_outbox: ConnectionPool, topic: str, unique_name: str
) -> None:
    rows = [("a", "a1"), ("b", TOO_LARGE), ("a", "a2"), ("b", "b2"), ("c", "c1")]
    a1, b1, a2, b2, c1 = add_rows(scratch_outbox, unique_name, topic, rows)

    with open_relay(stack_settings, scratch_sources(unique_name, scratch_outbox), frozenset()) as (sources, producer):
        with pytest.raises(PublishError, match="1 message.*'b'"):
            relay_outbox(sources, producer)
        assert unsent(scratch_outbox, unique_name) == {b1, b2}  # b2 was acknowledged, yet waits behind b1
        with pytest.raises(PublishError):  # the same refusal again: b2 is acknowledged again, still not marked
            relay_outbox(sources, producer)
        assert unsent(scratch_outbox, unique_name) == {b1, b2}

        with scratch_outbox.connection() as conn:  # the cause fixed (in life: a bigger max_request_size)
            conn.execute(
                sql.SQL("UPDATE {} SET envelope = %s WHERE event_id = %s").format(
                    sql.Identifier(unique_name, "outbox")
                ),
                (json.dumps({"event_id": b1}), b1),
            )
        assert relay_outbox(sources, producer) == 2
    assert unsent(scratch_outbox, unique_name) == set()

    log = on_kafka(stack_settings, topic)
    assert {event for _, event in log} == {a1, b1, a2, b2, c1}  # nothing lost
    assert [event for key, event in log if key == "a"] == [a1, a2]
    # b2 went out early once; its last copy, the one the relay marked, comes after b1.
    b_events = [event for key, event in log if key == "b"]
    assert b_events[-2:] == [b1, b2] and b1 not in b_events[:-2]


def test_a_refusal_in_a_pipelined_drain_holds_back_its_keys_events_in_the_batch_already_in_flight(
    stack_settings: Settings, scratch_outbox: ConnectionPool, topic: str, unique_name: str
) -> None:
    # Batches of two: [a1, b1], [a2, b2], [c1, c2]. The second is claimed and sent before b1's refusal is known.
    rows = [("a", "a1"), ("b", TOO_LARGE), ("a", "a2"), ("b", "b2"), ("c", "c1"), ("c", "c2")]
    a1, b1, a2, b2, c1, c2 = add_rows(scratch_outbox, unique_name, topic, rows)

    with open_relay(stack_settings, scratch_sources(unique_name, scratch_outbox), frozenset()) as (sources, producer):
        with pytest.raises(PublishError, match="1 message.*'b'"):
            drain_outbox(sources, producer, batch_size=2)
        # b2 was in flight and acknowledged, yet waits behind b1; nothing was claimed after the failure.
        assert unsent(scratch_outbox, unique_name) == {b1, b2, c1, c2}
        with scratch_outbox.connection() as conn:  # the cause fixed
            conn.execute(
                sql.SQL("UPDATE {} SET envelope = %s WHERE event_id = %s").format(
                    sql.Identifier(unique_name, "outbox")
                ),
                (json.dumps({"event_id": b1}), b1),
            )
        assert drain_outbox(sources, producer, batch_size=2) == 4
    assert unsent(scratch_outbox, unique_name) == set()

    log = on_kafka(stack_settings, topic)
    assert {event for _, event in log} == {a1, b1, a2, b2, c1, c2}
    assert [event for key, event in log if key == "a"] == [a1, a2]
    assert [event for key, event in log if key == "c"] == [c1, c2]
    b_events = [event for key, event in log if key == "b"]
    assert b_events[-2:] == [b1, b2] and b1 not in b_events[:-2]


def test_a_drain_killed_between_batches_rolls_back_the_unmarked_ones_and_the_next_drain_publishes_them(
    stack_settings: Settings, scratch_outbox: ConnectionPool, topic: str, unique_name: str
) -> None:
    event_ids = add_rows(scratch_outbox, unique_name, topic, [(f"k{n % 3}", f"e{n}") for n in range(10)])
    settled = 0

    def crash_at_the_second_batch() -> None:
        nonlocal settled
        settled += 1
        if settled == 2:
            raise SimulatedCrash("killed after publishing the second batch, before marking it")

    with open_relay(stack_settings, scratch_sources(unique_name, scratch_outbox), frozenset()) as (sources, producer):
        with pytest.raises(SimulatedCrash):
            drain_outbox(sources, producer, batch_size=4, after_publish=crash_at_the_second_batch)
        # The first batch was marked and committed; the second (published) and the third (in flight) were not.
        assert unsent(scratch_outbox, unique_name) == set(event_ids[4:])
        # Both connections went back to the pool (it holds two): the next drain gets them and finishes the rest.
        assert drain_outbox(sources, producer, batch_size=4) == 6
    assert unsent(scratch_outbox, unique_name) == set()
    log = on_kafka(stack_settings, topic)
    assert {event for _, event in log} == set(event_ids)
    for key in ("k0", "k1", "k2"):
        mine = [event for k, event in log if k == key]
        expected = [event for n, event in enumerate(event_ids) if f"k{n % 3}" == key]
        assert list(dict.fromkeys(mine)) == expected  # first copies in the outbox's order
        republished = [event for event in expected if event in event_ids[4:]]
        assert mine[-len(republished) :] == republished  # and the republished tail again in that order


def product_events(products, count: int) -> list[str]:  # noqa: ANN001 - a pymongo collection
    """``count`` products, each with one pending upsert event written as the app writes it; returns event ids."""
    products.insert_many([{"_id": f"p-{n:03d}", "version": 1, "pending_count": 0} for n in range(count)])
    event_ids = []
    for n in range(count):
        command = UpsertProduct(
            product_id=f"p-{n:03d}", sku=f"sku-{n}", name="Kite", category="toys", merchant_id="m", price=Decimal(5)
        )
        event = build_event(
            "ecommerce.product.upserted",
            command.product_id,
            ProductUpsertedV1(**command.model_dump()),
            datetime.now(UTC),
        )
        read = catalog.Product(command.product_id, "old", "n", "toys", "m", Decimal(4), "EUR", 1, "f")
        assert catalog.save_product(products, command, "f", event, "test", read)
        event_ids.append(event.event_id)
    return event_ids


def test_product_events_are_marked_sent_in_bulk_and_republished_after_a_crash(
    stack_settings: Settings, unique_name: str
) -> None:
    # A socket timeout, so a write command FerretDB never answers fails the test instead of hanging it.
    with MongoClient(stack_settings.mongo_url, socketTimeoutMS=20_000) as client:
        products = client[unique_name][catalog.COLLECTION]
        try:
            event_ids = product_events(products, 2 * catalog.WRITE_CHUNK + 5)  # three bulk commands of each kind
            documents = CatalogEvents(products)

            def crash() -> None:
                raise SimulatedCrash("killed after Kafka acked, before the documents were marked")

            with open_producer(stack_settings, unique_name) as producer:
                with pytest.raises(SimulatedCrash):
                    relay_documents(documents, producer, batch_size=1000, after_publish=crash)
                assert sorted(e.event_id for e in documents.pending(1000)) == sorted(event_ids)  # all still there
                assert relay_documents(documents, producer, batch_size=1000) == len(event_ids)
                assert relay_documents(documents, producer, batch_size=1000) == 0

            assert catalog.pending_markers(products).count_documents({}) == 0
            left = [
                (d["pending_count"], d["pending_events"])
                for d in products.find({}, {"pending_events": 1, "pending_count": 1})
            ]
            assert left == [(0, {})] * len(event_ids)
        finally:
            client.drop_database(unique_name)
