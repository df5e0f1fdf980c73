"""The outbox relay: publishes committed events to Kafka, then marks them sent. At least once, never lost.

One pass (`relay_once`) locks a batch of unsent outbox rows (``FOR UPDATE SKIP LOCKED``, by id, so parallel
relays take different rows), sends each envelope text with the idempotent producer (acks=all), waits for every
ack, projects order.placed events into Cassandra (`projections.py`), and only then sets ``sent_at`` and commits.
Killed before the commit, the rows stay unsent and the next pass publishes them again: downstream removes the
duplicates by event id. A rolled-back business transaction never wrote its outbox rows, so nothing of it is
published. Product events wait inside their MongoDB documents (`catalog.py`) and are drained the same way.
Per-key order holds with one relay; with several, a crash-and-retry can reorder a key's events across passes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from kafka import KafkaProducer
from psycopg_pool import ConnectionPool
from pymongo.collection import Collection

from ingest.ecommerce import catalog
from ingest.ecommerce.context import EcommerceContext, open_context
from ingest.ecommerce.projections import OrdersByCustomer, open_orders_by_customer
from lakehouse.settings import Settings

log = logging.getLogger(__name__)
Message = tuple[str, str, str]  # topic, key, envelope text
CLAIM = """SELECT id, topic, message_key, envelope FROM ecommerce.outbox WHERE sent_at IS NULL
ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED"""
MARK_SENT = "UPDATE ecommerce.outbox SET sent_at = now() WHERE id = ANY(%s)"


@contextmanager
def open_producer(settings: Settings) -> Iterator[KafkaProducer]:
    """The relay's producer: acks from every in-sync replica, idempotent retries, flushed and closed on exit."""
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        client_id="ecommerce-outbox-relay",
    )
    try:
        yield producer
    finally:
        producer.flush(timeout=30)
        producer.close(timeout=30)


def publish(producer: KafkaProducer, messages: Sequence[Message], timeout_s: float = 30.0) -> None:
    """Send ``messages`` and return once the broker acknowledged every one; raises if any failed."""
    futures = [producer.send(topic, key=key.encode(), value=text.encode()) for topic, key, text in messages]
    producer.flush(timeout=timeout_s)
    for future in futures:
        future.get(timeout=timeout_s)


def relay_outbox(
    pool: ConnectionPool,
    producer: KafkaProducer,
    orders_view: OrdersByCustomer,
    batch_size: int = 500,
    after_publish: Callable[[], None] | None = None,
) -> int:
    with pool.connection() as conn, conn.transaction():
        rows = conn.execute(CLAIM, (batch_size,)).fetchall()
        if not rows:
            return 0
        publish(producer, [(topic, key, text) for _, topic, key, text in rows])
        orders_view.project([text for *_, text in rows])
        if after_publish is not None:
            after_publish()  # tests simulate a crash here: published, not yet marked sent
        conn.execute(MARK_SENT, ([row[0] for row in rows],))
    return len(rows)


def relay_catalog(
    products: Collection,
    producer: KafkaProducer,
    batch_size: int = 500,
    after_publish: Callable[[], None] | None = None,
) -> int:
    pending = catalog.pending_product_events(products, batch_size)
    if not pending:
        return 0
    publish(producer, [(event.topic, event.key, event.text) for event in pending])
    if after_publish is not None:
        after_publish()
    for event in pending:
        catalog.mark_product_event_sent(products, event.product_id, event.event_id)
    return len(pending)


def relay_once(
    pool: ConnectionPool,
    producer: KafkaProducer,
    orders_view: OrdersByCustomer,
    products: Collection,
    batch_size: int = 500,
    after_publish: Callable[[], None] | None = None,
) -> int:
    """One pass over the PostgreSQL outbox and the catalog's pending events; returns how many were published."""
    sent = relay_outbox(pool, producer, orders_view, batch_size, after_publish)
    return sent + relay_catalog(products, producer, batch_size, after_publish)


@contextmanager
def open_relay_clients(settings: Settings) -> Iterator[tuple[EcommerceContext, KafkaProducer, OrdersByCustomer]]:
    """Every client a relay pass needs, opened together and closed together (the producer flushed first)."""
    with (
        open_context(settings, actor="relay", pool_size=2) as ctx,
        open_producer(settings) as producer,
        open_orders_by_customer(settings) as orders_view,
    ):
        yield ctx, producer, orders_view


def relay_pass(settings: Settings, batch_size: int = 500) -> int:
    """Publish everything pending now, pass after pass until none is left; returns how many events."""
    total = 0
    with open_relay_clients(settings) as (ctx, producer, orders_view):
        while (sent := relay_once(ctx.pool, producer, orders_view, ctx.products, batch_size)) > 0:
            total += sent
    return total


def run_relay(settings: Settings, stop: threading.Event, poll_interval_s: float = 0.2, batch_size: int = 500) -> int:
    """Relay until ``stop`` is set, logging progress every ~10 s; a failed pass is logged and retried."""
    total, last_report = 0, time.monotonic()
    with open_relay_clients(settings) as (ctx, producer, orders_view):
        log.info("outbox relay started (batch %d, poll %.1fs)", batch_size, poll_interval_s)
        while not stop.is_set():
            try:
                sent = relay_once(ctx.pool, producer, orders_view, ctx.products, batch_size)
            except Exception:  # a broker, database or Cassandra hiccup: the rows stay unsent, retry after a pause
                log.exception("relay pass failed; retrying in %.1fs", 5 * poll_interval_s)
                stop.wait(5 * poll_interval_s)
                continue
            total += sent
            if time.monotonic() - last_report > 10:
                log.info("outbox relay: %d events published so far", total)
                last_report = time.monotonic()
            if sent < batch_size:
                stop.wait(poll_interval_s)
    log.info("outbox relay stopped after publishing %d events", total)
    return total
