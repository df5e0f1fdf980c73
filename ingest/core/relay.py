"""The outbox relay, for any domain: publishes committed events to Kafka, then marks them sent. At least once,
never lost.

One pass (`relay_once`) locks a batch of unsent rows of ``<domain>.outbox`` (``FOR UPDATE SKIP LOCKED``, by id,
so parallel relays take different rows) and hands the whole batch to the idempotent producer (acks=all) without
waiting, so it packs many records per request (`relay_producer.py`). While the broker works, the domain's
projections (e.g. a Cassandra read model) are fed the batch: its rows are committed facts, and projections are
idempotent, so projecting a row whose send then fails is harmless (the next pass projects it again). Once every
message is acknowledged or failed, the acknowledged ones are marked sent in one statement and the transaction
commits. A failed message stays unsent, and so does every later message of its key in the batch, so a retry
cannot put a key's events out of order in the relay's log of what is done; the pass then raises `PublishError`.
Killed before the commit, the rows stay unsent and the next pass publishes them again: downstream removes the
duplicates by event id. A rolled-back business transaction never wrote its outbox rows, so nothing of it is
published. Events the domain's contract lists as ``notifications`` also go to NATS JetStream
(`notification_publisher.py`) once Kafka acked them and before they are marked sent. Stores without transactions
across documents (MongoDB) keep an event inside the document it describes; such a domain adds a `DocumentEvents`
source, drained the same way and marked sent in bulk.
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
from ingest.core.relay_producer import Message, PublishError, await_acks, open_producer, publishable, send_all
from lakehouse.settings import Settings

__all__ = ["PublishError", "open_producer"]  # the producer side lives in relay_producer.py; callers import it here
log = logging.getLogger(__name__)
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

    def mark_sent(self, events: Sequence[PendingEvent]) -> None:
        """Mark these published events sent, all at once (they are in the order ``pending`` returned them)."""


# Called with the envelope texts of each outbox batch, before it is marked sent.
Projection = Callable[[list[str]], object]


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


@dataclass(frozen=True)
class Delivery:
    """What became of a batch: which messages may be marked sent, and the failures (raised once marks are kept)."""

    marks: list[bool]
    failures: list[tuple[Message, BaseException]]

    def raise_failures(self) -> None:
        if self.failures:
            raise PublishError(self.failures)


def deliver(
    producer: KafkaProducer,
    messages: Sequence[Message],
    projections: Sequence[Projection] = (),
    notify: Projection | None = None,
    after_publish: Callable[[], None] | None = None,
) -> Delivery:
    """Send the batch, project it while the broker acknowledges, then notify what was acknowledged."""
    sent = send_all(producer, messages)
    texts = [text for *_, text in messages]
    for project in projections:
        project(texts)
    errors = await_acks(producer, sent)
    marks = publishable([key for _, key, _ in messages], errors)
    if notify is not None:
        notify([text for text, marked in zip(texts, marks, strict=True) if marked])
    if after_publish is not None:
        after_publish()  # tests simulate a crash here: published, not yet marked sent
    failures = [(message, error) for message, error in zip(messages, errors, strict=True) if error is not None]
    return Delivery(marks, failures)


def relay_outbox(
    sources: RelaySources,
    producer: KafkaProducer,
    batch_size: int = 500,
    after_publish: Callable[[], None] | None = None,
) -> int:
    """Publish one claimed batch of the outbox and mark what may be marked in one statement; raises `PublishError`
    (after committing those marks) if any message failed."""
    table = outbox_table(sources.domain)
    with sources.pool.connection() as conn:
        with conn.transaction():
            rows = conn.execute(sql.SQL(CLAIM).format(table), (batch_size,)).fetchall()
            if not rows:
                return 0
            messages = [(topic, key, text) for _, topic, key, text in rows]
            delivery = deliver(producer, messages, sources.projections, sources.notify, after_publish)
            ids = [row[0] for row, marked in zip(rows, delivery.marks, strict=True) if marked]
            if ids:
                conn.execute(sql.SQL(MARK_SENT).format(table), (ids,))
        delivery.raise_failures()
    return len(ids)


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
    messages = [(event.topic, event.key, event.text) for event in pending]
    delivery = deliver(producer, messages, notify=notify, after_publish=after_publish)
    published = [event for event, marked in zip(pending, delivery.marks, strict=True) if marked]
    if published:
        documents.mark_sent(published)
    delivery.raise_failures()
    return len(published)


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
