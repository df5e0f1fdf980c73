"""Anomaly alerts on the real PostgreSQL: a reading alerts once however often it is recorded; alerts on a device
with an open ticket count on it; after the ticket is closed the next alert opens a new one; two scorers alerting on
one device at once still open one ticket; each new alert puts its ticket event and ``iot.anomaly.alerted`` (with
the device's site and owner) in the outbox, in the caller's transaction."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from ingest.core.storage import KIT_STORAGE
from ingest.iot import registry
from ingest.iot.alerts import AlertInput, record_alert
from ingest.iot.contract import CONTRACT
from ingest.iot.tickets import update_ticket
from lakehouse.settings import Settings
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration
START = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def iot_settings(stack_settings: Settings) -> Settings:
    apply_all(stack_settings, [KIT_STORAGE, CONTRACT.storage], progress=lambda line: None)
    return stack_settings


@pytest.fixture
def device(iot_settings: Settings, unique_name: str) -> str:
    """A registered device of this test (owner ``o-<unique>``), committed."""
    with psycopg.connect(iot_settings.postgres_url) as conn:
        registry.ensure_site(conn, site_id=f"s-{unique_name}", name="Plant", timezone="UTC", actor="test")
        registry.ensure_device_model(
            conn,
            model_id=f"m-{unique_name}",
            name="Chiller",
            sensors=["temperature"],
            sampling_seconds=60,
            actor="test",
        )
        registry.register_device(
            conn,
            device_id=f"d-{unique_name}",
            serial=f"SN-{unique_name}",
            model_id=f"m-{unique_name}",
            site_id=f"s-{unique_name}",
            owner_id=f"o-{unique_name}",
            actor="test",
        )
    return f"d-{unique_name}"


def alert(device_id: str, seq: int, score: float = 0.97) -> AlertInput:
    at = START + timedelta(minutes=seq)
    return AlertInput(device_id, "temperature", f"{device_id}/temperature/s{seq}", at, 40.0 + seq, score, "3")


def record(settings: Settings, item: AlertInput):
    with psycopg.connect(settings.postgres_url) as conn:
        return record_alert(conn, item, actor="anomaly-scorer")


def rows(settings: Settings, device_id: str) -> tuple[list, list, list]:
    with psycopg.connect(settings.postgres_url) as conn:
        alerts = conn.execute(
            "SELECT reading_id, ticket_id FROM iot.anomaly_alerts WHERE device_id = %s ORDER BY reading_at",
            (device_id,),
        ).fetchall()
        tickets = conn.execute(
            "SELECT ticket_id, status, alert_count, last_alert_at FROM iot.maintenance_tickets WHERE device_id = %s "
            "ORDER BY opened_at, ticket_id",
            (device_id,),
        ).fetchall()
        events = conn.execute(
            """SELECT event_type, envelope FROM iot.outbox WHERE event_type IN
            ('iot.ticket.opened', 'iot.ticket.updated', 'iot.anomaly.alerted')
            AND envelope::jsonb -> 'payload' ->> 'device_id' = %s ORDER BY id""",
            (device_id,),
        ).fetchall()
    return alerts, tickets, [(kind, json.loads(text)["payload"]) for kind, text in events]


def test_a_reading_alerts_once_however_often_it_is_recorded(iot_settings, device, unique_name) -> None:
    first, again = record(iot_settings, alert(device, 1)), record(iot_settings, alert(device, 1))
    assert (first.new, first.ticket_opened, first.ticket_id) == (True, True, f"t-{device}-1")
    assert (again.new, again.ticket_opened, again.alert_id, again.ticket_id) == (
        False,
        False,
        first.alert_id,
        first.ticket_id,
    )
    alerts, tickets, events = rows(iot_settings, device)
    assert alerts == [(f"{device}/temperature/s1", first.ticket_id)]
    assert [(t[1], t[2]) for t in tickets] == [("open", 1)]
    assert [kind for kind, _ in events] == ["iot.ticket.opened", "iot.anomaly.alerted"]
    alerted = events[1][1]
    assert (alerted["site_id"], alerted["owner_id"], alerted["ticket_id"]) == (
        f"s-{unique_name}",
        f"o-{unique_name}",
        first.ticket_id,
    )
    assert (alerted["alert_id"], alerted["value"], alerted["anomaly_score"]) == (first.alert_id, 41.0, 0.97)


def test_a_second_reading_counts_on_the_open_ticket_and_after_closing_a_new_one_opens(iot_settings, device) -> None:
    first, second = record(iot_settings, alert(device, 1)), record(iot_settings, alert(device, 2))
    assert second.new and not second.ticket_opened and second.ticket_id == first.ticket_id
    _, tickets, events = rows(iot_settings, device)
    assert [(t[1], t[2], t[3]) for t in tickets] == [("open", 2, START + timedelta(minutes=2))]
    assert events[-2][0] == "iot.ticket.updated" and events[-2][1]["alert_count"] == 2

    with psycopg.connect(iot_settings.postgres_url) as conn:
        update_ticket(conn, ticket_id=first.ticket_id, status="closed", note="fixed", actor="ops", at=datetime.now(UTC))
    third = record(iot_settings, alert(device, 3))
    assert third.new and third.ticket_opened and third.ticket_id == f"t-{device}-2"
    alerts, tickets, _ = rows(iot_settings, device)
    assert [ticket for _, ticket in alerts] == [first.ticket_id, first.ticket_id, third.ticket_id]
    assert [(t[0], t[1], t[2]) for t in tickets] == [(first.ticket_id, "closed", 2), (third.ticket_id, "open", 1)]


def test_an_alert_rolled_back_with_its_caller_leaves_nothing(iot_settings, device) -> None:
    with psycopg.connect(iot_settings.postgres_url) as conn:
        record_alert(conn, alert(device, 5), actor="anomaly-scorer")
        conn.rollback()  # the scorer failed later in its transaction
    assert rows(iot_settings, device) == ([], [], [])


def test_two_scorers_alerting_on_one_device_at_once_open_one_ticket(iot_settings, device) -> None:
    results, barrier = [], threading.Barrier(4)

    def scorer(seq: int) -> None:
        barrier.wait()
        results.append(record(iot_settings, alert(device, seq)))

    threads = [threading.Thread(target=scorer, args=(seq,)) for seq in (11, 12, 13, 14)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and sum(r.ticket_opened for r in results) == 1
    alerts, tickets, _ = rows(iot_settings, device)
    assert len(alerts) == 4 and [(t[1], t[2]) for t in tickets] == [("open", 4)]


def test_an_alert_for_an_unknown_device_is_refused(iot_settings, unique_name) -> None:
    from ingest.core.errors import NotFound

    with pytest.raises(NotFound, match="device_id"):
        record(iot_settings, alert(f"nobody-{unique_name}", 1))
