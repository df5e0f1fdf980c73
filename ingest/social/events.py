"""Appending social events to the outbox inside the caller's transaction, and what a use case returns with them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from ingest.core import outbox
from ingest.core.contract import EventPayload
from ingest.core.unit_of_work import Accepted
from ingest.social.contract import CONTRACT, DOMAIN


@dataclass(frozen=True)
class Written(Accepted):
    """A use case's result, with the envelope texts it committed: the app applies them to the post documents at
    once (the relay applies them again later, idempotently)."""

    envelopes: tuple[str, ...] = ()


def emit(
    conn: psycopg.Connection, event: tuple[str, int], key: str, payload: EventPayload, at: datetime
) -> outbox.OutboxEvent:
    """Validate ``payload`` against the contract and append it to ``social.outbox``; returns the event."""
    built = outbox.build_event(CONTRACT, event[0], key, payload, at, event[1])
    outbox.append(conn, DOMAIN, [built])
    return built


def written(resource: str, id_: str, outcome: str, version: int, events: list[outbox.OutboxEvent]) -> Written:
    ids = tuple(e.event_id for e in events)
    return Written(resource, id_, outcome, version, ids, tuple(e.text for e in events))  # type: ignore[arg-type]
