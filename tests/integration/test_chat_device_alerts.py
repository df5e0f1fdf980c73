"""Chat hears the IoT domain's anomaly alerts (real PostgreSQL, Kafka, NATS): a recorded alert, published by the
IoT relay, becomes one system message in the device owner's device-alerts room (user and room created on first
use), however often the consumer runs; a payload chat cannot read is refused as poison."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from ingest.chat.notifications import ANOMALY_ALERTED, device_alert_notice
from ingest.core.envelope import EventEnvelope
from ingest.core.notifications import PoisonMessage
from ingest.core.relay import relay_pass
from ingest.domains import consume_notifications, storage_declarations
from ingest.iot import registry
from ingest.iot.alerts import AlertInput, record_alert
from ingest.iot.relay import open_relay_sources
from lakehouse.settings import Settings
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def bootstrapped(stack_settings: Settings) -> Settings:
    declarations = storage_declarations()
    if "iot" not in {declaration.domain for declaration in declarations}:  # until iot is in DOMAINS
        declarations += storage_declarations(("iot",))[1:]
    apply_all(stack_settings, declarations, progress=lambda line: None)
    return stack_settings


def alerted(owner_id: str, device_id: str, ticket_id: str, **changes: object) -> EventEnvelope:
    payload = {
        "alert_id": "a-1",
        "device_id": device_id,
        "site_id": "s-1",
        "owner_id": owner_id,
        "sensor": "temperature",
        "reading_id": f"{device_id}/temperature/s1",
        "reading_at": "2026-03-01T00:01:00Z",
        "value": 41.5,
        "anomaly_score": 0.97,
        "model_version": "3",
        "ticket_id": ticket_id,
        "alerted_at": "2026-03-01T00:01:02Z",
    }
    return EventEnvelope(type=ANOMALY_ALERTED, version=1, key=device_id, payload=payload | changes)


def alert_messages(conn: psycopg.Connection, owner_id: str) -> list[tuple[str, str, str]]:
    return conn.execute(
        """SELECT r.kind, m.author_id, m.body FROM chat.rooms r JOIN chat.messages m USING (room_id)
        WHERE r.external_ref = %s ORDER BY m.sent_at""",
        (f"iot:{owner_id}",),
    ).fetchall()


def test_alerts_open_the_owners_room_once_and_post_each(bootstrapped, unique_name) -> None:
    owner = f"o-{unique_name}"
    with psycopg.connect(bootstrapped.postgres_url) as conn:
        device_alert_notice(conn, alerted(owner, "dev-1", "t-dev-1-1"))
        device_alert_notice(conn, alerted(owner, "dev-2", "t-dev-2-4", value=-3))
        rows = alert_messages(conn, owner)
        member = conn.execute("SELECT role FROM chat.memberships WHERE user_id = %s AND active", (owner,)).fetchall()
        with pytest.raises(PoisonMessage, match="value"):
            device_alert_notice(conn, alerted(owner, "dev-3", "t-3", value="hot"))
        with pytest.raises(PoisonMessage, match="ticket_id"):
            device_alert_notice(conn, alerted(owner, "dev-3", ""))
        conn.rollback()
    assert [(kind, author) for kind, author, _ in rows] == [("support", "system")] * 2
    assert "dev-1" in rows[0][2] and "temperature" in rows[0][2] and "41.5" in rows[0][2] and "0.97" in rows[0][2]
    assert "t-dev-1-1" in rows[0][2] and "-3" in rows[1][2] and "t-dev-2-4" in rows[1][2]
    assert member == [("member",)]


def test_a_recorded_alert_reaches_the_owners_room_through_nats_once(bootstrapped, unique_name) -> None:
    owner, device_id = f"o-{unique_name}", f"d-{unique_name}"
    with psycopg.connect(bootstrapped.postgres_url) as conn:
        registry.ensure_site(conn, site_id=f"s-{unique_name}", name="Plant", timezone="UTC", actor="test")
        registry.ensure_device_model(
            conn, model_id=f"m-{unique_name}", name="Pump", sensors=["vibration"], sampling_seconds=120, actor="test"
        )
        registry.register_device(
            conn,
            device_id=device_id,
            serial=f"SN-{unique_name}",
            model_id=f"m-{unique_name}",
            site_id=f"s-{unique_name}",
            owner_id=owner,
            actor="test",
        )
        reading = AlertInput(device_id, "vibration", f"{device_id}/vibration/s9", datetime.now(UTC), 88.25, 0.99, "3")
        recorded = record_alert(conn, reading, actor="anomaly-scorer")
    relay_pass(bootstrapped, open_relay_sources)
    first = consume_notifications(bootstrapped, "chat")
    again = consume_notifications(bootstrapped, "chat")
    assert first.handled >= 1 and again.handled == 0
    with psycopg.connect(bootstrapped.postgres_url) as conn:
        rows = alert_messages(conn, owner)
    assert [(kind, author) for kind, author, _ in rows] == [("support", "system")]
    assert device_id in rows[0][2] and "88.25" in rows[0][2] and recorded.ticket_id in rows[0][2]
