"""Each light service answers a real client: a write, a read back, and the clean-up of what the test made.

Kafka and Cassandra have their own round-trip tests (test_kafka.py, test_cassandra.py).
"""

from __future__ import annotations

import asyncio

import nats
import psycopg
import pytest
import redis
from nats.aio.msg import Msg
from psycopg import sql
from pymongo import MongoClient

from lakehouse.settings import Settings

pytestmark = pytest.mark.integration


def test_postgres_write_and_read(stack_settings: Settings, unique_name: str) -> None:
    table = sql.Identifier(unique_name)
    with psycopg.connect(stack_settings.postgres_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (id integer PRIMARY KEY, body text NOT NULL)").format(table))
        try:
            conn.execute(sql.SQL("INSERT INTO {} VALUES (%s, %s), (%s, %s)").format(table), (1, "first", 2, "zweite ✓"))
            rows = conn.execute(sql.SQL("SELECT id, body FROM {} ORDER BY id").format(table)).fetchall()
        finally:
            conn.execute(sql.SQL("DROP TABLE {}").format(table))
        assert rows == [(1, "first"), (2, "zweite ✓")]
        assert conn.execute("SELECT to_regclass(%s)", (unique_name,)).fetchone() == (None,)


def test_redis_write_and_read(stack_settings: Settings, unique_name: str) -> None:
    client = redis.Redis.from_url(stack_settings.redis_url, socket_timeout=10)
    try:
        client.set(f"{unique_name}:string", "value", ex=60)
        client.hset(f"{unique_name}:hash", mapping={"a": "1", "b": "2"})
        assert client.get(f"{unique_name}:string") == b"value"
        assert client.hgetall(f"{unique_name}:hash") == {b"a": b"1", b"b": b"2"}
        assert 0 < client.ttl(f"{unique_name}:string") <= 60
    finally:
        client.delete(f"{unique_name}:string", f"{unique_name}:hash")
        assert client.exists(f"{unique_name}:string", f"{unique_name}:hash") == 0
        client.close()


def test_mongo_wire_write_and_read(stack_settings: Settings, unique_name: str) -> None:
    with MongoClient(stack_settings.mongo_url, serverSelectionTimeoutMS=10_000) as client:
        collection = client[stack_settings.mongo_database][unique_name]
        try:
            collection.insert_many(
                [
                    {"_id": 1, "sku": "A-1", "tags": ["x", "y"], "price": 9.5},
                    {"_id": 2, "sku": "B-2", "tags": [], "price": 20.0},
                ]
            )
            collection.update_one({"_id": 2}, {"$push": {"tags": "z"}})
            found = list(collection.find({"price": {"$gt": 5}}, sort=[("_id", 1)]))
        finally:
            collection.drop()
        assert found == [
            {"_id": 1, "sku": "A-1", "tags": ["x", "y"], "price": 9.5},
            {"_id": 2, "sku": "B-2", "tags": ["z"], "price": 20.0},
        ]
        assert unique_name not in client[stack_settings.mongo_database].list_collection_names()


def test_nats_core_and_jetstream_round_trip(stack_settings: Settings, unique_name: str) -> None:
    core, stored = asyncio.run(_nats_round_trips(stack_settings.nats_url, unique_name))
    assert core == b"ping"
    assert stored == [(b"event-1", 1), (b"event-2", 2)]


async def _nats_round_trips(url: str, name: str) -> tuple[bytes, list[tuple[bytes, int]]]:
    client = await nats.connect(url, connect_timeout=10, allow_reconnect=False)
    try:
        # Core NATS: a request answered by a subscriber of the same connection.
        async def echo(message: Msg) -> None:
            await message.respond(message.data)

        subscription = await client.subscribe(f"{name}.echo", cb=echo)
        reply = await client.request(f"{name}.echo", b"ping", timeout=5)
        await subscription.unsubscribe()

        jetstream = client.jetstream()
        await jetstream.add_stream(name=name, subjects=[f"{name}.events.>"])
        try:
            for number in (1, 2):
                ack = await jetstream.publish(f"{name}.events.created", f"event-{number}".encode())
                assert (ack.stream, ack.seq) == (name, number)
            consumer = await jetstream.pull_subscribe(f"{name}.events.>", durable=f"{name}_reader", stream=name)
            messages = await consumer.fetch(2, timeout=5)
            for message in messages:
                await message.ack()
            return reply.data, [(message.data, message.metadata.sequence.stream) for message in messages]
        finally:
            await jetstream.delete_stream(name)
    finally:
        await client.close()
