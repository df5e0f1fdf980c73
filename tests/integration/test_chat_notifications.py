"""Chat's NATS consumers on the real stack: a held e-commerce order becomes a system message in the customer's
support room (user and room created on first use, once per event id); a flagged message becomes a notice for the
room's moderators; an event chat can never handle is refused as poison."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from test_notifications_ecommerce import place_order_with_the_fraud_service_down

from ingest.chat.notifications import ORDER_HELD, SUBSCRIPTIONS, flagged_notice, order_held_notice
from ingest.core.envelope import EventEnvelope
from ingest.core.notifications import PoisonMessage, run_consumers
from ingest.core.relay import relay_pass
from ingest.domains import relay_sources, storage_declarations
from lakehouse.settings import Settings
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bootstrapped(stack_settings: Settings) -> Settings:
    apply_all(stack_settings, storage_declarations(), progress=lambda line: None)
    return stack_settings


def held(customer_id: str, order_id: str, decision: str = "review") -> EventEnvelope:
    payload = {"order_id": order_id, "customer_id": customer_id, "decision": decision, "score": 0.4}
    return EventEnvelope(type=ORDER_HELD, version=1, key=order_id, payload=payload | {"held_at": "2026-01-01T00:00Z"})


def support_messages(conn: psycopg.Connection, customer_id: str) -> list[tuple[str, str, str]]:
    return conn.execute(
        """SELECT r.kind, m.author_id, m.body FROM chat.rooms r JOIN chat.messages m USING (room_id)
        WHERE r.external_ref = %s ORDER BY m.sent_at""",
        (f"ecommerce:{customer_id}",),
    ).fetchall()


def test_order_held_opens_the_support_room_once_and_posts_each_hold(bootstrapped, unique_name) -> None:
    customer = f"c-{unique_name}"
    with psycopg.connect(bootstrapped.postgres_url) as conn:
        order_held_notice(conn, held(customer, "o-1"))
        order_held_notice(conn, held(customer, "o-2", "decline"))
        rows = support_messages(conn, customer)
        member = conn.execute("SELECT role FROM chat.memberships WHERE user_id = %s AND active", (customer,)).fetchall()
        with pytest.raises(PoisonMessage, match="decision"):
            order_held_notice(conn, held(customer, "o-3", "maybe"))
        conn.rollback()
    assert [(kind, author) for kind, author, _ in rows] == [("support", "system")] * 2
    assert "o-1 is held for a manual review" in rows[0][2] and "o-2 was declined" in rows[1][2]
    assert member == [("member",)]


def test_a_flagged_message_becomes_a_notice_for_moderators(bootstrapped, unique_name) -> None:
    customer = f"c-{unique_name}"
    flagged_id = str(uuid.uuid1())
    with psycopg.connect(bootstrapped.postgres_url) as conn:
        order_held_notice(conn, held(customer, "o-1"))
        (room_id,) = conn.execute(
            "SELECT room_id FROM chat.rooms WHERE external_ref = %s", (f"ecommerce:{customer}",)
        ).fetchone()
        payload = {"message_id": flagged_id, "room_id": room_id, "day": "2026-01-01", "author_id": customer}
        payload |= {"score": 0.03, "reason": "very negative", "flagged_at": datetime.now(UTC).isoformat()}
        flagged_notice(conn, EventEnvelope(type="chat.message.flagged", version=1, key=room_id, payload=payload))
        rows = support_messages(conn, customer)
        conn.rollback()
    assert rows[-1][1] == "system" and flagged_id in rows[-1][2] and "Moderators" in rows[-1][2]


def test_a_held_order_reaches_the_support_room_through_nats(bootstrapped, unique_name) -> None:
    order_id = place_order_with_the_fraud_service_down(bootstrapped, unique_name)
    relay_pass(bootstrapped, relay_sources("ecommerce"))
    order_held = tuple(s for s in SUBSCRIPTIONS if s.event_type == ORDER_HELD)
    first = run_consumers(bootstrapped, "chat", order_held, until_idle=True)
    again = run_consumers(bootstrapped, "chat", order_held, until_idle=True)
    assert first.handled >= 1 and again.handled == 0
    with psycopg.connect(bootstrapped.postgres_url) as conn:
        rows = support_messages(conn, f"c-{unique_name}")
        unsent = conn.execute(
            "SELECT count(*) FROM chat.outbox WHERE message_key = %s AND event_type = 'chat.message.sent'",
            (f"support-c-{unique_name}",),
        ).fetchone()[0]
    assert [(kind, author) for kind, author, _ in rows] == [("support", "system")]
    assert order_id in rows[0][2] and unsent == 1
