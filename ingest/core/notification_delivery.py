"""One notification delivered to one consuming domain: durable pull consumers, the inbox transaction, dead letters.

`notifications.py` loops over these; everything here works on one message or one consumer, through the sync
bridge to nats-py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Literal

import nats.errors
import psycopg
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from psycopg import sql

from ingest.core.envelope import EventEnvelope
from ingest.core.nats_bridge import NatsBridge
from ingest.core.notification_subjects import MSG_ID, dead_letter_subject, durable_name, stream_for, subject_for
from ingest.core.unit_of_work import set_actor
from stack.bootstrap.nats_streams import DEAD_LETTER_STREAM

log = logging.getLogger(__name__)

Outcome = Literal["handled", "duplicates", "dead_lettered", "retried"]
PullConsumer = JetStreamContext.PullSubscription
REASON = "Lakehouse-Dead-Reason"
ORIGINAL_SUBJECT = "Lakehouse-Original-Subject"
EVENT_ID = "Lakehouse-Event-Id"
CONSUMER = "Lakehouse-Consumer"
INBOX = "INSERT INTO {} (event_id, event_type, subject) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING"


class PoisonMessage(Exception):
    """Raised by a handler for an event it can never handle: dead-lettered at once, never retried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def subscribe(bridge: NatsBridge, consumer_domain: str, event_type: str) -> PullConsumer:
    """Bind to (creating if new) the durable consumer of ``event_type`` for ``consumer_domain``.

    A new one starts at the oldest message the stream keeps: a domain subscribing late still sees what is
    retained (its inbox skips anything handled before). Redelivery is counted here, not by the server, so a
    message that failed too often is dead-lettered rather than silently dropped.
    """
    config = ConsumerConfig(
        durable_name=durable_name(consumer_domain, event_type),
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=30.0,
        max_ack_pending=1000,
    )
    return bridge.run(
        bridge.jetstream.pull_subscribe(
            subject_for(event_type), durable=config.durable_name, stream=stream_for(event_type), config=config
        )
    )


def fetch(bridge: NatsBridge, consumer: PullConsumer, batch_size: int, timeout_s: float) -> list[Msg]:
    """Up to ``batch_size`` messages: those waiting now, or the first to arrive within ``timeout_s``; [] if none."""
    try:
        return bridge.run(consumer.fetch(batch_size, timeout=timeout_s), timeout_s + bridge.timeout_s)
    except (TimeoutError, nats.errors.TimeoutError):
        return []


def deliver(
    conn: psycopg.Connection,
    bridge: NatsBridge,
    consumer_domain: str,
    event_type: str,
    handle: Callable[[psycopg.Connection, EventEnvelope], None],
    message: Msg,
    *,
    max_deliver: int,
    retry_delay_s: float,
) -> Outcome:
    """Handle ``message`` once per event id, then acknowledge it (or dead-letter it, or ask for a redelivery)."""
    try:
        envelope = parse(message.data, event_type)
    except ValueError as error:
        return dead_letter(bridge, consumer_domain, event_type, message, f"unparsable envelope: {error}")
    try:
        with conn.transaction():
            set_actor(conn, consumer_domain, f"notifications:{event_type}")
            fresh = record_in_inbox(conn, consumer_domain, envelope, message.subject)
            if fresh:
                handle(conn, envelope)
    except PoisonMessage as poison:
        return dead_letter(bridge, consumer_domain, event_type, message, poison.reason, envelope.event_id)
    except Exception as error:  # a handler bug or a database hiccup: rolled back, retried, then dead-lettered
        attempts = message.metadata.num_delivered
        if attempts >= max_deliver:
            reason = f"failed {attempts} times, last: {error!r}"
            return dead_letter(bridge, consumer_domain, event_type, message, reason, envelope.event_id)
        log.warning("%s: %s %s failed (attempt %d), retrying", consumer_domain, event_type, envelope.event_id, attempts)
        bridge.run(message.nak(delay=retry_delay_s * attempts or None))
        return "retried"
    bridge.run(message.ack())
    return "handled" if fresh else "duplicates"


def parse(data: bytes, event_type: str) -> EventEnvelope:
    """The envelope of a message on ``event_type``'s subject; ValueError saying what is wrong with it."""
    try:
        envelope = EventEnvelope.from_json(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"invalid JSON ({error})") from None
    except TypeError as error:  # missing or unexpected envelope fields, or not an object
        raise ValueError(f"not an event envelope ({error})") from None
    if envelope.type != event_type:
        raise ValueError(f"event type {envelope.type!r} on the subject of {event_type!r}")
    if not isinstance(envelope.event_id, str) or not envelope.event_id:
        raise ValueError("missing event_id")
    if not isinstance(envelope.payload, dict):
        raise ValueError("payload is not a JSON object")
    return envelope


def record_in_inbox(conn: psycopg.Connection, consumer_domain: str, envelope: EventEnvelope, subject: str) -> bool:
    """Add the event id to the domain's inbox in the open transaction; False when it was already there."""
    query = sql.SQL(INBOX).format(sql.Identifier(consumer_domain, "inbox"))
    return conn.execute(query, (envelope.event_id, envelope.type, subject)).rowcount == 1


def dead_letter(
    bridge: NatsBridge,
    consumer_domain: str,
    event_type: str,
    message: Msg,
    reason: str,
    event_id: str = "",
) -> Outcome:
    """Store ``message`` on its dead-letter subject with why, then stop its redelivery."""
    log.warning("%s: dead-lettering a %s message: %s", consumer_domain, event_type, reason)
    # A repeat dead-lettering of the same delivery (a crash before `term`) is dropped by the duplicate window.
    position = event_id or f"seq-{message.metadata.sequence.stream}"
    headers = {
        REASON: _header(reason),
        ORIGINAL_SUBJECT: message.subject,
        CONSUMER: consumer_domain,
        MSG_ID: f"{consumer_domain}:{event_type}:{position}",
    }
    if event_id:
        headers[EVENT_ID] = event_id
    subject = dead_letter_subject(consumer_domain, event_type)
    bridge.run(bridge.jetstream.publish(subject, message.data, headers=headers, stream=DEAD_LETTER_STREAM.name))
    bridge.run(message.term())
    return "dead_lettered"


def _header(text: str, limit: int = 1000) -> str:
    # A header value is one line: NATS would split (or refuse) one with a line break in it.
    return " ".join(text.split())[:limit]
