"""The relay's Kafka side: one producer tuned for batches, and a batch send that reports each message's outcome.

A relay batch is sent whole (every ``send`` first, then its acks awaited), so the producer packs many records per
request; the settings that decide how many (``linger_ms``, ``batch_size``) live in ``PRODUCER_BATCHING`` and the
benchmark's bare producer uses the very same ones. A failed message must not fail the batch blindly: the others
were acknowledged and may be marked sent, except the later messages of a failed one's key, which stay unsent with it
so that a retry publishes that key's events in their order again (`publishable`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError
from kafka.producer.future import FutureRecordMetadata

from lakehouse.settings import Settings

Message = tuple[str, str, str]  # topic, key, envelope text
# Measured (bare producer, 2,000 envelopes of ~650 bytes, acks=all, 3 partitions, medians of 4 under load ~11):
# 256 KiB batches 6,200/s against 5,000/s with the default 16 KiB (one request per partition per relay batch instead
# of one per ~25 records); linger 0 or 5 ms alike, 20 ms slower (5,640/s). A relay batch is flushed once sent whole,
# so linger only lets the sender thread gather records while the batch is appended.
PRODUCER_BATCHING: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 5,
    "batch_size": 256 * 1024,
}


class PublishError(RuntimeError):
    """Some messages of a batch were not acknowledged; they (and their keys' later events) stay unsent."""

    def __init__(self, failures: Sequence[tuple[Message, BaseException]]) -> None:
        (topic, key, _), error = failures[0]
        super().__init__(
            f"{len(failures)} message(s) not acknowledged by Kafka, e.g. key {key!r} on {topic}: {error!r}"
        )
        self.failures = list(failures)


@contextmanager
def open_producer(settings: Settings, client_id: str = "outbox-relay") -> Iterator[KafkaProducer]:
    """The relay's producer: acks from every in-sync replica, idempotent retries, flushed and closed on exit."""
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers, client_id=client_id, **PRODUCER_BATCHING
    )
    try:
        yield producer
    finally:
        producer.flush(timeout=30)
        producer.close(timeout=30)


Sent = FutureRecordMetadata | BaseException


def send_all(producer: KafkaProducer, messages: Sequence[Message]) -> list[Sent]:
    """Hand every message to the producer without waiting; a message refused at once (too large, no metadata) is
    kept as its error, so the others still go."""
    sent: list[Sent] = []
    for topic, key, text in messages:
        try:
            sent.append(producer.send(topic, key=key.encode(), value=text.encode()))
        except (KafkaError, ValueError) as error:  # too large, no metadata, an invalid topic: that row only
            sent.append(error)
    return sent


def await_acks(sent: Sequence[Sent], timeout_s: float = 30.0) -> list[BaseException | None]:
    """Each message's error (None: the broker acknowledged it), once each of these is acknowledged or failed. It
    waits for these messages only, not for what was sent after them: a running relay has its next batch in flight
    meanwhile (no ``flush``, which would wait for that one too)."""
    deadline = time.monotonic() + timeout_s
    for item in sent:
        if isinstance(item, FutureRecordMetadata) and not item.is_done:
            with suppress(KafkaError):  # its error is read from the future below; a timeout leaves it not done
                item.get(timeout=max(0.0, deadline - time.monotonic()))
    unacked = KafkaTimeoutError(f"no acknowledgement within {timeout_s}s")  # still in flight: a later pass resends
    return [item if isinstance(item, BaseException) else (item.exception if item.is_done else unacked) for item in sent]


def publishable(
    keys: Sequence[str], errors: Sequence[BaseException | None], failed_keys: set[str] | None = None
) -> list[bool]:
    """Which messages may be marked sent: acknowledged, and no earlier message of the same key failed (marking a
    later one would let it overtake the failed one, which a retry publishes after it). ``failed_keys`` carries the
    keys that failed in an earlier batch still unmarked (it is updated with this batch's)."""
    failed_keys = set() if failed_keys is None else failed_keys
    marks = []
    for key, error in zip(keys, errors, strict=True):
        if error is not None:
            failed_keys.add(key)
        marks.append(error is None and key not in failed_keys)
    return marks
