"""Each light service answers a real client: a write, a read back, and the clean-up of what the test made.

Kafka and Cassandra have their own round-trip tests (test_kafka.py, test_cassandra.py).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import psycopg
import pytest
import redis
from nats.aio.msg import Msg
from ports import free_port
from psycopg import sql
from pymongo import MongoClient

from lakehouse.settings import Settings
from stack.manager import Stack
from stack.services.ferretdb import FERRETDB_BUILD, GO_RUNTIME, FerretDBService

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


def test_mongo_filters_on_id_use_the_id_index(stack_settings: Settings, unique_name: str) -> None:
    # FerretDB's SQLite backend as upstream builds it scans the collection even for _id (stack/install.py patches it).
    with MongoClient(stack_settings.mongo_url, serverSelectionTimeoutMS=10_000) as client:
        db = client[stack_settings.mongo_database]
        db[unique_name].insert_many([{"_id": f"p-{n}", "version": 1} for n in range(20)])
        try:
            plans = {
                label: " ".join(db.command("explain", {"find": unique_name, "filter": query})["queryPlanner"]["Plan"])
                for label, query in {
                    "by _id": {"_id": "p-3"},
                    "by _id and version": {"_id": "p-3", "version": 1},
                    "by version": {"version": 1},
                }.items()
            }
        finally:
            db[unique_name].drop()
    assert "USING INDEX" in plans["by _id"] and "__id_" in plans["by _id"], plans
    assert "USING INDEX" in plans["by _id and version"], plans
    assert "SCAN" in plans["by version"] and "USING INDEX" not in plans["by version"], plans


def test_mongo_filter_on_id_and_version_still_checks_the_version(stack_settings: Settings, unique_name: str) -> None:
    # Only the _id part of such a filter reaches SQLite: the rest must still be applied (the catalog's optimistic
    # write relies on a stale version matching nothing).
    with MongoClient(stack_settings.mongo_url, serverSelectionTimeoutMS=10_000) as client:
        products = client[stack_settings.mongo_database][unique_name]
        products.insert_many([{"_id": "p-1", "version": 1, "price": "1.00"}, {"_id": "p-2", "version": 1}])
        try:
            first = products.update_one(
                {"_id": "p-1", "version": 1}, {"$set": {"price": "2.00"}, "$inc": {"version": 1}}
            )
            stale = products.update_one(
                {"_id": "p-1", "version": 1}, {"$set": {"price": "3.00"}, "$inc": {"version": 1}}
            )
            found_stale = products.find_one({"_id": "p-1", "version": 1})
            found_current = products.find_one({"_id": "p-1", "version": 2})
            removed = products.delete_one({"_id": "p-2", "version": 7})
            remaining = sorted(doc["_id"] for doc in products.find({}))
        finally:
            products.drop()
    assert (first.matched_count, stale.matched_count) == (1, 0)
    assert found_stale is None
    assert found_current == {"_id": "p-1", "version": 2, "price": "2.00"}
    assert removed.deleted_count == 0 and remaining == ["p-1", "p-2"]


def test_ferretdb_starts_on_its_tuned_sqlite_and_status_is_a_real_round_trip(tmp_path) -> None:
    settings = Settings(home=tmp_path, mongo_url=f"mongodb://127.0.0.1:{free_port()}/", service_start_timeout_s=60)
    service = FerretDBService(settings)
    stack = Stack(settings, services=[service])
    try:
        (status,) = stack.up(progress=lambda _: None)
        assert status.healthy and status.pid, status
        assert status.detail.startswith(f"FerretDB {FERRETDB_BUILD} "), status.detail
        environ = dict(
            item.split("=", 1) for item in Path(f"/proc/{status.pid}/environ").read_text().split("\0") if "=" in item
        )
        assert {name: environ.get(name) for name in GO_RUNTIME} == GO_RUNTIME
        with MongoClient(settings.mongo_url, serverSelectionTimeoutMS=10_000) as client:
            client[settings.mongo_database].documents.insert_one({"_id": "d-1"})
        # One SQLite file per database, in write-ahead-log mode, in the service's own data folder.
        assert (service.data_dir / f"{settings.mongo_database}.sqlite").exists()
        assert (service.data_dir / f"{settings.mongo_database}.sqlite-wal").exists()
    finally:
        stack.down(progress=lambda _: None)
    (stopped,) = stack.status()
    assert not stopped.healthy and stopped.detail == "not running"


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
