"""The outbox relay on the real stack: every committed event reaches Kafka, a crash loses none, a rollback sends none."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest
from kafka import KafkaConsumer, TopicPartition
from psycopg import sql
from pymongo import MongoClient, monitoring

from ingest.core.errors import NotFound
from ingest.core.relay import open_relay, relay_once
from ingest.domains import storage_declarations
from ingest.ecommerce import catalog, order_store
from ingest.ecommerce.commands import OrderLine, PlaceOrder, RegisterCustomer, UpsertProduct
from ingest.ecommerce.context import EcommerceContext, open_context
from ingest.ecommerce.contract import ORDERS_TOPIC, PRODUCTS_TOPIC, ProductUpsertedV1, build_event
from ingest.ecommerce.relay import CatalogEvents, open_relay_sources
from ingest.ecommerce.service import handle
from lakehouse.settings import PROJECT_ROOT, Settings
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration
ORDERS = 20


class SimulatedCrash(RuntimeError):
    pass


@pytest.fixture(scope="module")
def ctx(stack_settings: Settings) -> Iterator[EcommerceContext]:
    apply_all(stack_settings, storage_declarations(), progress=lambda line: None)
    with open_context(stack_settings, actor="test") as context:
        yield context


@pytest.fixture
def shop(ctx: EcommerceContext, unique_name: str) -> tuple[str, str]:
    """A registered customer and a catalog product for this test only."""
    customer_id, product_id = f"c-{unique_name}", f"p-{unique_name}"
    handle(
        RegisterCustomer(customer_id=customer_id, email=f"{unique_name}@shop.test", full_name="T", country="FR"), ctx
    )
    product = UpsertProduct(
        product_id=product_id,
        sku=f"sku-{unique_name}",
        name="Kite",
        category="toys",
        merchant_id="m-1",
        price=Decimal("19.90"),
    )
    handle(product, ctx)
    return customer_id, product_id


def place_orders(ctx: EcommerceContext, shop: tuple[str, str], prefix: str, count: int) -> dict[str, str]:
    """Place ``count`` orders; returns order id -> event id of its order.placed event."""
    customer_id, product_id = shop
    placed = {}
    for number in range(count):
        line = OrderLine(product_id=product_id, category="toys", quantity=1 + number % 3, unit_price=Decimal("19.90"))
        order_id = f"o-{prefix}-{number}"
        command = PlaceOrder(
            order_id=order_id,
            customer_id=customer_id,
            merchant_id="m-1",
            terminal_id="t-1",
            card_number="4000000000000002",
            lines=[line],
        )
        placed[order_id] = handle(command, ctx).event_ids[0]
    return placed


def outbox_rows(ctx: EcommerceContext, keys: list[str]) -> list[tuple[str, str, bool]]:
    """(event id, event type, sent?) of the outbox rows keyed by ``keys``."""
    with ctx.pool.connection() as conn:
        rows = conn.execute(
            "SELECT event_id::text, event_type, sent_at IS NOT NULL FROM ecommerce.outbox WHERE message_key = ANY(%s)",
            (keys,),
        ).fetchall()
    return [tuple(row) for row in rows]


def end_offsets(settings: Settings, topic: str) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        return consumer.end_offsets(partitions)
    finally:
        consumer.close()


def published_event_ids(
    settings: Settings, topic: str, since: dict[TopicPartition, int], keys: set[str], group: str
) -> list[str]:
    """Event ids of the messages keyed by ``keys`` written to ``topic`` after ``since``, duplicates included."""
    until = end_offsets(settings, topic)
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    found: list[str] = []
    try:
        consumer.assign(list(until))
        for partition in until:
            consumer.seek(partition, since.get(partition, 0))
        deadline = time.monotonic() + 60
        while any(consumer.position(p) < end for p, end in until.items()) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=1000).values():
                found += [json.loads(r.value)["event_id"] for r in records if r.key.decode() in keys]
    finally:
        consumer.close()
    return found


def relay_until_sent(ctx: EcommerceContext, keys: list[str], settings: Settings) -> None:
    with open_relay(settings, open_relay_sources) as (sources, producer):
        for _ in range(50):  # other people's rows may be in the outbox too: pass until ours are sent
            if all(sent for *_, sent in outbox_rows(ctx, keys)):
                return
            relay_once(sources, producer)
    raise AssertionError(f"outbox rows of {keys[:3]}... still unsent after 50 relay passes")


def test_each_placed_order_is_published_exactly_once(
    ctx: EcommerceContext, shop, stack_settings: Settings, unique_name: str
) -> None:
    before = end_offsets(stack_settings, ORDERS_TOPIC)
    placed = place_orders(ctx, shop, unique_name, ORDERS)
    rows = outbox_rows(ctx, list(placed))
    assert sorted(event_id for event_id, *_ in rows) == sorted(placed.values())
    assert {event_type for _, event_type, _ in rows} == {"ecommerce.order.placed"}

    relay_until_sent(ctx, list(placed), stack_settings)

    on_kafka = published_event_ids(stack_settings, ORDERS_TOPIC, before, set(placed), f"g-{unique_name}")
    assert sorted(on_kafka) == sorted(placed.values())


def test_a_crash_between_publish_and_commit_republishes_and_loses_nothing(
    ctx: EcommerceContext, shop, stack_settings: Settings, unique_name: str
) -> None:
    before = end_offsets(stack_settings, ORDERS_TOPIC)
    placed = place_orders(ctx, shop, unique_name, 5)

    def crash() -> None:
        raise SimulatedCrash("killed after the broker acked, before sent_at was committed")

    with open_relay(stack_settings, open_relay_sources) as (sources, producer), pytest.raises(SimulatedCrash):
        relay_once(sources, producer, batch_size=100_000, after_publish=crash)
    assert not any(sent for *_, sent in outbox_rows(ctx, list(placed)))
    relay_until_sent(ctx, list(placed), stack_settings)

    on_kafka = published_event_ids(stack_settings, ORDERS_TOPIC, before, set(placed), f"g-{unique_name}")
    assert set(on_kafka) == set(placed.values())
    assert len(on_kafka) >= 2 * len(placed)  # published before the crash and again after: duplicates, never gaps


CHILD_RELAY = """
import sys
from lakehouse.settings import Settings
from ingest.core.relay import open_relay, relay_outbox
from ingest.ecommerce.relay import open_relay_sources

def wait_for_the_kill() -> None:
    print("published", flush=True)
    sys.stdin.readline()

with open_relay(Settings(), open_relay_sources) as (sources, producer):
    relay_outbox(sources, producer, batch_size=100_000, after_publish=wait_for_the_kill)
"""


def test_a_relay_killed_with_sigkill_leaves_its_batch_unsent(
    ctx: EcommerceContext, shop, stack_settings: Settings, unique_name: str
) -> None:
    before = end_offsets(stack_settings, ORDERS_TOPIC)
    placed = place_orders(ctx, shop, unique_name, 5)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_RELAY],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    try:
        assert child.stdout.readline().strip() == "published"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    # PostgreSQL rolled the dead relay's transaction back: published, but not marked sent.
    assert not any(sent for *_, sent in outbox_rows(ctx, list(placed)))

    relay_until_sent(ctx, list(placed), stack_settings)
    on_kafka = published_event_ids(stack_settings, ORDERS_TOPIC, before, set(placed), f"g-{unique_name}")
    assert set(on_kafka) == set(placed.values())


def test_a_refused_or_rolled_back_command_leaves_no_outbox_row(
    ctx: EcommerceContext, shop, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, product_id = shop
    line = OrderLine(product_id=product_id, category="toys", quantity=1, unit_price=Decimal("1.00"))
    unknown_customer = PlaceOrder(
        order_id=f"o-{unique_name}-a",
        customer_id=f"ghost-{unique_name}",
        merchant_id="m",
        terminal_id="t",
        card_number="4000000000000002",
        lines=[line],
    )
    with pytest.raises(NotFound, match="customer_id"):
        handle(unknown_customer, ctx)

    real_writes = order_store.new_order_writes

    def writes_then_fail(*args, **kwargs):  # the order row is written, then its statement (and transaction) dies
        writes = real_writes(*args, **kwargs)
        failing = sql.SQL("INSERT INTO ecommerce.order_lines SELECT * FROM ecommerce.order_lines WHERE 1 / 0 = 1")
        return replace(writes, dependents=[*writes.dependents, failing])

    monkeypatch.setattr(order_store, "new_order_writes", writes_then_fail)
    rolled_back = unknown_customer.model_copy(update={"order_id": f"o-{unique_name}-b", "customer_id": shop[0]})
    with pytest.raises(psycopg.errors.DivisionByZero):
        handle(rolled_back, ctx)

    order_ids = [f"o-{unique_name}-a", f"o-{unique_name}-b"]
    assert outbox_rows(ctx, order_ids) == []
    with ctx.pool.connection() as conn:
        assert (
            conn.execute("SELECT count(*) FROM ecommerce.orders WHERE order_id = ANY(%s)", (order_ids,)).fetchone()[0]
            == 0
        )
        audit = conn.execute("SELECT count(*) FROM ecommerce.audit_log WHERE row_key LIKE %s", (f"o-{unique_name}%",))
        assert audit.fetchone()[0] == 0


def test_product_events_wait_in_the_document_until_published(
    ctx: EcommerceContext, stack_settings: Settings, unique_name: str
) -> None:
    before = end_offsets(stack_settings, PRODUCTS_TOPIC)
    product_id = f"p-{unique_name}"
    fields = {
        "product_id": product_id,
        "sku": f"sku-{unique_name}",
        "name": "Kite",
        "category": "toys",
        "merchant_id": "m",
    }
    first = handle(UpsertProduct(**fields, price=Decimal("5.00")), ctx)
    second = handle(UpsertProduct(**fields, price=Decimal("6.00")), ctx)
    replay = handle(UpsertProduct(**fields, price=Decimal("6")), ctx)
    assert (first.outcome, second.outcome, replay.outcome, replay.event_ids) == ("created", "updated", "unchanged", ())
    assert ctx.products.find_one({"_id": product_id})["pending_count"] == 2

    with open_relay(stack_settings, open_relay_sources) as (sources, producer):
        while ctx.products.find_one({"_id": product_id})["pending_count"] > 0:
            assert relay_once(sources, producer) > 0

    document = ctx.products.find_one({"_id": product_id})
    assert document["pending_events"] == {} and document["price"] == "6.00" and document["version"] == 2
    on_kafka = published_event_ids(stack_settings, PRODUCTS_TOPIC, before, {product_id}, f"g-{unique_name}")
    assert on_kafka == [*first.event_ids, *second.event_ids]  # one key, one partition: in the order written


def test_relay_reads_pending_markers_and_products_only_by_id(stack_settings: Settings, unique_name: str) -> None:
    # FerretDB scans the catalog for any filter but _id, so the relay's work must not grow with the catalog.
    listener = CommandLog()
    with MongoClient(stack_settings.mongo_url, serverSelectionTimeoutMS=10_000, event_listeners=[listener]) as client:
        products = client[unique_name][catalog.COLLECTION]
        try:
            products.insert_many([{"_id": f"p-{n:04d}", "version": 1, "pending_count": 0} for n in range(500)])
            product = UpsertProduct(
                product_id="p-0500", sku="sku-1", name="Kite", category="toys", merchant_id="m", price=Decimal("5")
            )
            event = build_event(
                "ecommerce.product.upserted", "p-0500", ProductUpsertedV1(**product.model_dump()), datetime.now(UTC)
            )
            assert catalog.save_product(products, product, "f", event, "test", None)
            markers = catalog.pending_markers(products)
            # A write that lost its race (version 1 exists) and one that may still be in flight (version 9).
            markers.insert_many(
                [
                    {"_id": "p-0001:e-lost", "product_id": "p-0001", "event_id": "e-lost", "version": 1},
                    {"_id": "p-0002:e-flying", "product_id": "p-0002", "event_id": "e-flying", "version": 9},
                ]
            )
            listener.commands.clear()
            pending = CatalogEvents(products).pending(10)
            assert [(e.product_id, e.event_id, e.text) for e in pending] == [("p-0500", event.event_id, event.text)]
            on_catalog = [c for c in listener.commands if c.get(next(iter(c))) == catalog.COLLECTION]
            assert on_catalog and all(c.get("filter", {}).keys() == {"_id"} for c in on_catalog), on_catalog
            assert sorted(doc["_id"] for doc in markers.find()) == ["p-0002:e-flying", f"p-0500:{event.event_id}"]
            CatalogEvents(products).mark_sent(pending[:1])
            assert [doc["_id"] for doc in markers.find()] == ["p-0002:e-flying"]
            assert products.find_one({"_id": "p-0500"})["pending_count"] == 0
        finally:
            client.drop_database(unique_name)


def test_events_written_before_markers_existed_are_adopted_once(stack_settings: Settings, unique_name: str) -> None:
    with MongoClient(stack_settings.mongo_url, serverSelectionTimeoutMS=10_000) as client:
        products = client[unique_name][catalog.COLLECTION]
        try:
            envelope = {"topic": PRODUCTS_TOPIC, "key": "p-1", "envelope": "{}"}
            legacy = {"e-2": {"seq": 2, **envelope}, "e-1": {"seq": 1, **envelope}}
            products.insert_one({"_id": "p-1", "version": 2, "pending_events": legacy, "pending_count": 2})
            assert catalog.adopt_unmarked_events(products) == 0  # not asked for: migration 0003 did not run here
            catalog.pending_markers(products).insert_one({"_id": catalog.ADOPTION_TODO})
            assert catalog.adopt_unmarked_events(products) == 2
            assert catalog.adopt_unmarked_events(products) == 0
            assert [e.event_id for e in CatalogEvents(products).pending(10)] == ["e-1", "e-2"]
        finally:
            client.drop_database(unique_name)


class CommandLog(monitoring.CommandListener):
    def __init__(self) -> None:
        self.commands: list[dict] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.commands.append(dict(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass
