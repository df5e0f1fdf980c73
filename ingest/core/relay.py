"""The outbox relay, for any domain: publishes committed events to Kafka, then marks them sent. At least once,
never lost.

One pass (`relay_once`) locks a batch of unsent rows of ``<domain>.outbox`` (``FOR UPDATE SKIP LOCKED``, by id,
so parallel relays take different rows), sends each envelope text with the idempotent producer (acks=all), waits
for every ack, hands the published envelopes to the domain's projections (e.g. a Cassandra read model), and only
then sets ``sent_at`` and commits. Killed before the commit, the rows stay unsent and the next pass publishes them
again: downstream removes the duplicates by event id. A rolled-back business transaction never wrote its outbox
rows, so nothing of it is published. Events the domain's contract lists as ``notifications`` also go to NATS
JetStream (`notification_publisher.py`) once Kafka acked them and before they are marked sent. Stores without
transactions across documents (MongoDB) keep an event inside the document it describes; such a domain adds a
`DocumentEvents` source, drained the same way.
Per-key order holds with one relay; with several, a crash-and-retry can reorder a key's events across passes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, replace
from importlib import import_module
from typing import Protocol

from kafka import KafkaProducer
from psycopg import sql
from psycopg_pool import ConnectionPool

from ingest.core.notification_publisher import declared_notifications, open_publisher
from ingest.core.outbox import outbox_table
from lakehouse.settings import Settings

log = logging.getLogger(__name__)
Message = tuple[str, str, str]  # topic, key, envelope text
CLAIM = """SELECT id, topic, message_key, envelope FROM {} WHERE sent_at IS NULL
ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED"""
MARK_SENT = "UPDATE {} SET sent_at = now() WHERE id = ANY(%s)"


class PendingEvent(Protocol):
    topic: str
    key: str
    text: str


class DocumentEvents(Protocol):
    """Events kept inside documents until published (a document store without multi-document transactions)."""

    def pending(self, limit: int) -> Sequence[PendingEvent]: ...

    def mark_sent(self, event: PendingEvent) -> None: ...


# Called with the envelope texts of each published outbox batch, before it is marked sent.
Projection = Callable[[list[str]], None]


@dataclass(frozen=True)
class RelaySources:
    """Everything one domain's relay drains: its outbox, its projections and its document-held events."""

    domain: str
    pool: ConnectionPool
    projections: Sequence[Projection] = ()
    documents: Sequence[DocumentEvents] = ()
    # Set by `open_relay` when the domain publishes notifications: sends a batch's notification events to NATS.
    notify: Projection | None = None


OpenSources = Callable[[Settings], AbstractContextManager[RelaySources]]


def sources_in(module: str) -> OpenSources:
    """``module``'s ``open_relay_sources``, imported only when a relay opens (it loads the domain's drivers)."""

    def open_sources(settings: Settings) -> AbstractContextManager[RelaySources]:
        return import_module(module).open_relay_sources(settings)

    return open_sources


@contextmanager
def open_producer(settings: Settings, client_id: str = "outbox-relay") -> Iterator[KafkaProducer]:
    """The relay's producer: acks from every in-sync replica, idempotent retries, flushed and closed on exit."""
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        client_id=client_id,
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
    sources: RelaySources,
    producer: KafkaProducer,
    batch_size: int = 500,
    after_publish: Callable[[], None] | None = None,
) -> int:
    table = outbox_table(sources.domain)
    with sources.pool.connection() as conn, conn.transaction():
        rows = conn.execute(sql.SQL(CLAIM).format(table), (batch_size,)).fetchall()
        if not rows:
            return 0
        publish(producer, [(topic, key, text) for _, topic, key, text in rows])
        if sources.notify is not None:
            sources.notify([text for *_, text in rows])
        for project in sources.projections:
            project([text for *_, text in rows])
        if after_publish is not None:
            after_publish()  # tests simulate a crash here: published, not yet marked sent
        conn.execute(sql.SQL(MARK_SENT).format(table), ([row[0] for row in rows],))
    return len(rows)


def relay_documents(
    documents: DocumentEvents,
    producer: KafkaProducer,
    batch_size: int = 500,
    after_publish: Callable[[], None] | None = None,
    notify: Projection | None = None,
) -> int:
    pending = documents.pending(batch_size)
    if not pending:
        return 0
    publish(producer, [(event.topic, event.key, event.text) for event in pending])
    if notify is not None:
        notify([event.text for event in pending])
    if after_publish is not None:
        after_publish()
    for event in pending:
        documents.mark_sent(event)
    return len(pending)


def relay_once(
    sources: RelaySources,
    producer: KafkaProducer,
    batch_size: int = 500,
    after_publish: Callable[[], None] | None = None,
) -> int:
    """One pass over the domain's outbox and its document-held events; returns how many were published."""
    sent = relay_outbox(sources, producer, batch_size, after_publish)
    return sent + sum(
        relay_documents(docs, producer, batch_size, after_publish, sources.notify) for docs in sources.documents
    )


@contextmanager
def open_relay(
    settings: Settings, open_sources: OpenSources, notifications: frozenset[str] | None = None
) -> Iterator[tuple[RelaySources, KafkaProducer]]:
    """A domain's sources and a producer, opened together and closed together (the producer flushed first).

    ``notifications`` are the event types also published to NATS; by default those of the domain's contract. A
    NATS connection is opened (once, for the whole relay) only when there are some.
    """
    with ExitStack() as opened:
        sources = opened.enter_context(open_sources(settings))
        producer = opened.enter_context(open_producer(settings, f"{sources.domain}-outbox-relay"))
        wanted = declared_notifications(sources.domain) if notifications is None else notifications
        if wanted:
            sources = replace(sources, notify=opened.enter_context(open_publisher(settings, sources.domain, wanted)))
        yield sources, producer


def relay_pass(
    settings: Settings, open_sources: OpenSources, batch_size: int = 500, notifications: frozenset[str] | None = None
) -> int:
    """Publish everything pending now, pass after pass until none is left; returns how many events."""
    total = 0
    with open_relay(settings, open_sources, notifications) as (sources, producer):
        while (sent := relay_once(sources, producer, batch_size)) > 0:
            total += sent
    return total


def run_relay(
    settings: Settings,
    open_sources: OpenSources,
    stop: threading.Event,
    poll_interval_s: float = 0.2,
    batch_size: int = 500,
    notifications: frozenset[str] | None = None,
) -> int:
    """Relay until ``stop`` is set, logging progress every ~10 s; a failed pass is logged and retried."""
    total, last_report = 0, time.monotonic()
    with open_relay(settings, open_sources, notifications) as (sources, producer):
        log.info("%s outbox relay started (batch %d, poll %.1fs)", sources.domain, batch_size, poll_interval_s)
        while not stop.is_set():
            try:
                sent = relay_once(sources, producer, batch_size)
            except Exception:  # a broker, database or projection hiccup: the rows stay unsent, retry after a pause
                log.exception("relay pass failed; retrying in %.1fs", 5 * poll_interval_s)
                stop.wait(5 * poll_interval_s)
                continue
            total += sent
            if time.monotonic() - last_report > 10:
                log.info("%s outbox relay: %d events published so far", sources.domain, total)
                last_report = time.monotonic()
            if sent < batch_size:
                stop.wait(poll_interval_s)
    log.info("%s outbox relay stopped after publishing %d events", sources.domain, total)
    return total
