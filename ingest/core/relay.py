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
A running relay (`relay_pass`, `run_relay`) drains the outbox with two batches in flight (`drain_outbox`): the
next batch is claimed (its own connection and transaction; the first batch's rows are locked, so it gets the rows
after them), sent and projected while the broker still acknowledges the one before, which is then marked and
committed. Waiting for acks was a fifth of the relay's time at 2,000-row batches. A key that failed in one batch
stays unmarked in the next one too, and after a failure nothing more is claimed until both are settled: a retry
then publishes the key's events again in their order.
Per-key order holds with one relay; with several, a crash-and-retry can reorder a key's events across passes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, replace
from importlib import import_module
from typing import Any, Protocol

from kafka import KafkaProducer
from psycopg import Connection, sql
from psycopg_pool import ConnectionPool

from ingest.core.notification_publisher import declared_notifications, open_publisher
from ingest.core.outbox import outbox_table
from ingest.core.relay_producer import (
    Message,
    PublishError,
    Sent,
    await_acks,
    open_producer,
    publishable,
    send_all,
)
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


# Called with the envelope texts of each outbox batch, before it is marked sent. A projection that writes
# asynchronously returns a callable that waits for its writes (and raises if one failed): the relay calls it just
# before marking the batch sent, so the store's round trips overlap the next batch's sends. Any other result is
# ignored.
Projection = Callable[[list[str]], object]


def project_all(projections: Sequence[Projection], texts: list[str]) -> list[Callable[[], object]]:
    """Hand ``texts`` to every projection; returns the waits of those that write asynchronously."""
    waits = []
    for project in projections:
        result = project(texts)
        if callable(result):
            waits.append(result)
    return waits


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
# Connections a relay's pool needs: `drain_outbox` holds one per batch in flight (two), and a projection may read
# PostgreSQL meanwhile (social's fan-out asks for the author's followers): with two, that projection waited for a
# connection the drain was holding until the pool timed out.
RELAY_POOL_SIZE = 3


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
    notify: Projection | None = None,
    after_publish: Callable[[], None] | None = None,
) -> Delivery:
    """Send the batch, wait for its acks, then notify what was acknowledged (document-held events; the outbox goes
    through `drain_outbox`'s steps, which project it too and keep its transaction open meanwhile)."""
    sent = send_all(producer, messages)
    errors = await_acks(sent)
    marks = publishable([key for _, key, _ in messages], errors)
    if notify is not None:
        notify([text for (*_, text), marked in zip(messages, marks, strict=True) if marked])
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
    (after committing those marks) if any message failed. `drain_outbox`'s steps, one batch at a time."""
    table = outbox_table(sources.domain)
    batch = _claim_and_send(sources, producer, table, batch_size)
    if batch is None:
        return 0
    try:
        marked, failures = _settle(batch, sources, table, set(), after_publish)
    except BaseException:
        batch.abort()
        raise
    if failures:
        raise PublishError(failures)
    return marked


@dataclass
class _InFlight:
    """A claimed outbox batch, sent and projected, its transaction still open (closing ``held`` commits it)."""

    conn: Connection[Any]
    rows: list[Any]
    sent: list[Sent]
    projecting: list[Callable[[], object]]  # waits of the projections still writing
    held: ExitStack

    def abort(self) -> None:
        """Roll back: the rows stay unsent and a later pass publishes them again."""
        aborted = RuntimeError("relay batch abandoned")
        self.held.__exit__(RuntimeError, aborted, None)


def _claim_and_send(
    sources: RelaySources, producer: KafkaProducer, table: sql.Identifier, batch_size: int
) -> _InFlight | None:
    with ExitStack() as held:
        conn = held.enter_context(sources.pool.connection())
        held.enter_context(conn.transaction())
        rows = conn.execute(sql.SQL(CLAIM).format(table), (batch_size,)).fetchall()
        if not rows:
            return None
        messages = [(topic, key, text) for _, topic, key, text in rows]
        sent = send_all(producer, messages)
        waits = project_all(sources.projections, [text for *_, text in messages])
        return _InFlight(conn, rows, sent, waits, held.pop_all())


def _settle(
    batch: _InFlight,
    sources: RelaySources,
    table: sql.Identifier,
    failed_keys: set[str],
    after_publish: Callable[[], None] | None,
) -> tuple[int, list[tuple[Message, BaseException]]]:
    """Wait for the batch's own acks, notify and mark what may be marked, commit; returns (marked, failures)."""
    for wait in batch.projecting:
        wait()
    errors = await_acks(batch.sent)
    messages = [(topic, key, text) for _, topic, key, text in batch.rows]
    marks = publishable([key for _, key, _ in messages], errors, failed_keys)
    if sources.notify is not None:
        sources.notify([text for (*_, text), marked in zip(messages, marks, strict=True) if marked])
    if after_publish is not None:
        after_publish()  # tests simulate a crash here: published, not yet marked sent
    ids = [row[0] for row, marked in zip(batch.rows, marks, strict=True) if marked]
    if ids:
        batch.conn.execute(sql.SQL(MARK_SENT).format(table), (ids,))
    batch.held.close()
    failures = [(message, error) for message, error in zip(messages, errors, strict=True) if error is not None]
    return len(ids), failures


def drain_outbox(
    sources: RelaySources,
    producer: KafkaProducer,
    batch_size: int = 500,
    after_publish: Callable[[], None] | None = None,
) -> int:
    """Publish every outbox row unsent now, batch after batch, the next one sent while the previous one's acks
    come in (see the module's docstring); returns how many were marked sent. Raises `PublishError` once both
    batches in flight are settled if any message failed; on any other error the unsettled batches roll back."""
    table = outbox_table(sources.domain)
    published, failed_keys = 0, set[str]()
    failures: list[tuple[Message, BaseException]] = []
    flight: deque[_InFlight] = deque()
    try:
        while True:
            claimed = None if failures else _claim_and_send(sources, producer, table, batch_size)
            if claimed is not None:
                flight.append(claimed)
            if not flight:
                break
            if claimed is None or len(flight) > 1:
                marked, failed = _settle(flight[0], sources, table, failed_keys, after_publish)
                flight.popleft()
                published += marked
                failures += failed
    finally:
        for batch in flight:
            batch.abort()
    if failures:
        raise PublishError(failures)
    return published


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
    delivery = deliver(producer, messages, notify, after_publish)
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
    """One batch of the domain's outbox and of each document source; returns how many were published."""
    sent = relay_outbox(sources, producer, batch_size, after_publish)
    return sent + sum(
        relay_documents(docs, producer, batch_size, after_publish, sources.notify) for docs in sources.documents
    )


def relay_pending(sources: RelaySources, producer: KafkaProducer, batch_size: int = 500) -> int:
    """Everything pending now: the outbox drained with two batches in flight, then each document source."""
    sent = drain_outbox(sources, producer, batch_size)
    for docs in sources.documents:
        while (published := relay_documents(docs, producer, batch_size, notify=sources.notify)) > 0:
            sent += published
    return sent


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
        while (sent := relay_pending(sources, producer, batch_size)) > 0:
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
                sent = relay_pending(sources, producer, batch_size)
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
