"""Notices: the test domain's NATS notifications, published by the kit's relay and consumed by the kit's consumers.

Each test run gets its own event type (``kitdemo.<run>.notice.posted``), so its own subject and durable consumer
in the shared ``LAKEHOUSE_KITDEMO`` stream; a notice can ask its handler to refuse it (``poison``) or to fail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg_pool import ConnectionPool

from ingest.core import outbox
from ingest.core.contract import DomainContract, EventPayload
from ingest.core.envelope import EventEnvelope
from ingest.core.notifications import PoisonMessage, Subscription
from stack.bootstrap.kafka_topics import TopicSpec

DOMAIN = "kitdemo"


class NoticePostedV1(EventPayload):
    notice_id: str
    text: str
    poison: bool = False


def notice_type(run: str) -> str:
    return f"{DOMAIN}.{run}.notice.posted"


def notices_contract(run: str) -> DomainContract:
    topic = f"{DOMAIN}.{run}.notices"
    return DomainContract(
        name=DOMAIN,
        events={(notice_type(run), 1): (NoticePostedV1, topic)},
        topics=(TopicSpec(topic, partitions=1),),
        migrations=Path(__file__).with_name("migrations"),
        entities={"notices": topic},
        notifications=frozenset({notice_type(run)}),
    )


def post_notices(pool: ConnectionPool, contract: DomainContract, notices: list[NoticePostedV1]) -> list[str]:
    """Append one notice event per notice to the outbox, in one transaction; returns their event ids."""
    (event_type,) = contract.notifications
    now = datetime.now(UTC)
    events = [outbox.build_event(contract, event_type, n.notice_id, n, now) for n in notices]
    with pool.connection() as conn, conn.transaction():
        return list(outbox.append(conn, DOMAIN, events))


def record_notice(conn: psycopg.Connection, envelope: EventEnvelope) -> None:
    notice = NoticePostedV1.model_validate(envelope.payload)
    if notice.poison:
        raise PoisonMessage(f"notice {notice.notice_id} asks to be refused")
    conn.execute(
        "INSERT INTO kitdemo.notices_received (notice_id, event_id) VALUES (%s, %s)",
        (notice.notice_id, envelope.event_id),
    )


def fail_always(conn: psycopg.Connection, envelope: EventEnvelope) -> None:
    raise RuntimeError(f"the handler is broken for {envelope.event_id}")


def subscriptions(run: str) -> tuple[Subscription, ...]:
    return (Subscription(notice_type(run), record_notice),)


def record_held_order(conn: psycopg.Connection, envelope: EventEnvelope) -> None:
    """The test domain acting on another domain's notification: e-commerce's held orders."""
    conn.execute(
        "INSERT INTO kitdemo.notices_received (notice_id, event_id) VALUES (%s, %s)",
        (envelope.payload["order_id"], envelope.event_id),
    )
