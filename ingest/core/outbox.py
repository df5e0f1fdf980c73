"""The transactional outbox: events are rows written in the same PostgreSQL transaction as the business change.

Either both commit or neither does, so a rolled-back command publishes nothing and a committed one is never lost:
the relay (`relay.py`) later publishes each row's ``envelope`` text byte for byte and marks it sent. A payload is
validated against its domain's contract before it can become a row, so nothing malformed waits in the outbox for
consumers to choke on. Each domain has its own ``<domain>.outbox`` table (`lakehouse_kit.create_outbox`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from ingest.core.contract import DomainContract, EventPayload
from ingest.core.envelope import EventEnvelope


@dataclass(frozen=True)
class OutboxEvent:
    """One event as it will be published: its topic, message key and exact envelope text."""

    topic: str
    key: str
    envelope: EventEnvelope

    @property
    def event_id(self) -> str:
        return self.envelope.event_id

    @property
    def text(self) -> str:
        return self.envelope.to_json().decode()


def build_event(
    contract: DomainContract,
    event_type: str,
    key: str,
    payload: EventPayload | dict[str, Any],
    occurred_at: datetime,
    version: int = 1,
) -> OutboxEvent:
    """Validate ``payload`` against the contract of (type, version) and wrap it in an envelope keyed by ``key``.

    ``key`` is the aggregate id: Kafka keeps one key's events in one partition, in order.
    """
    model = contract.schema_for(event_type, version)
    # An instance of the contract's own model was validated when it was built; anything else is validated here.
    if type(payload) is model:
        validated = payload
    else:
        validated = model.model_validate(payload.model_dump() if isinstance(payload, EventPayload) else payload)
    envelope = EventEnvelope(
        type=event_type,
        version=version,
        key=key,
        payload=validated.model_dump(mode="json"),
        occurred_at=occurred_at.isoformat(),
    )
    return OutboxEvent(contract.topic_for(event_type, version), key, envelope)


INSERT = """INSERT INTO {} (event_id, topic, message_key, event_type, event_version, envelope)
VALUES (%s, %s, %s, %s, %s, %s)"""


def outbox_table(domain: str) -> sql.Identifier:
    return sql.Identifier(domain, "outbox")


def append(conn: psycopg.Connection, domain: str, events: list[OutboxEvent]) -> tuple[str, ...]:
    """Add ``events`` to ``domain``'s outbox inside the caller's open transaction; returns their event ids."""
    rows = [(e.event_id, e.topic, e.key, e.envelope.type, e.envelope.version, e.text) for e in events]
    with conn.cursor() as cursor:
        cursor.executemany(sql.SQL(INSERT).format(outbox_table(domain)), rows)
    return tuple(event.event_id for event in events)


def prune_sent(conn: psycopg.Connection, domain: str, sent_before: datetime) -> int:
    """Delete ``domain``'s outbox rows the relay sent before ``sent_before``; returns how many.

    Sent rows are history Kafka and bronze already hold, so they only grow the table (and carry old payloads, as
    card numbers did before tokenisation). Unsent rows are never touched: the relay still owes them. An idempotent
    command replayed after its row is pruned still answers from its own table, not from the outbox.
    """
    query = sql.SQL("DELETE FROM {} WHERE sent_at IS NOT NULL AND sent_at < %s").format(outbox_table(domain))
    return conn.execute(query, (sent_before,)).rowcount


def events_cte(domain: str, events: Sequence[OutboxEvent], only_if: str) -> tuple[sql.Composed, dict[str, Any]]:
    """``events`` as an ``outbox AS (INSERT ...)`` part of a ``WITH`` statement, inserted only when the CTE named
    ``only_if`` returned a row; its params are named ``outbox_*`` (arrays, one element per event)."""
    columns = {
        "outbox_event_id": ([e.event_id for e in events], "uuid"),
        "outbox_topic": ([e.topic for e in events], "text"),
        "outbox_key": ([e.key for e in events], "text"),
        "outbox_type": ([e.envelope.type for e in events], "text"),
        "outbox_version": ([e.envelope.version for e in events], "int"),
        "outbox_envelope": ([e.text for e in events], "text"),
    }
    arrays = sql.SQL(", ").join(
        sql.SQL("%({})s::{}[]").format(sql.SQL(name), sql.SQL(kind)) for name, (_, kind) in columns.items()
    )
    statement = sql.SQL(
        """outbox AS (INSERT INTO {} (event_id, topic, message_key, event_type, event_version, envelope)
        SELECT * FROM unnest({}) WHERE EXISTS (SELECT FROM {}))"""
    ).format(outbox_table(domain), arrays, sql.Identifier(only_if))
    return statement, {name: values for name, (values, _) in columns.items()}
