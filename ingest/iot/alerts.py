"""Anomaly alerts: the live scorer's alerting readings become alerts, each tied to the device's maintenance ticket.

`record_alert` runs inside the caller's transaction (the scorer commits its alerts with its own progress). It is
idempotent on the reading: the alert id is derived from the reading id, so a rescored or replayed reading never
alerts twice. The first alert on a device without a ticket that is not closed opens one; later alerts count on
it; once a person closes it, the next alert opens a new one. The ticket event and ``iot.anomaly.alerted`` (which
the relay also publishes to NATS, so the owner's chat hears of it) go to the outbox with the rows.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from ingest.core import outbox
from ingest.core.errors import InvalidCommand, NotFound
from ingest.core.idempotency import as_utc
from ingest.iot import contract as ev
from ingest.iot.tickets import count_alert, insert_ticket, lock_device_tickets, open_ticket_of

# Fixed forever: alert ids of readings already alerted on must stay the same.
ALERT_NAMESPACE = uuid.UUID("5b0f6a53-6c1e-4f4e-9a57-2f1d7c0e1a10")


@dataclass(frozen=True)
class AlertInput:
    device_id: str
    sensor: str
    reading_id: str
    reading_at: datetime
    value: float
    anomaly_score: float
    model_version: str


@dataclass(frozen=True)
class RecordedAlert:
    alert_id: str
    ticket_id: str
    new: bool  # False: this reading had alerted before, nothing was written
    ticket_opened: bool  # True: this alert opened the ticket


def alert_id_for(reading_id: str) -> str:
    """The alert's id, a function of the reading's alone (a UUIDv5)."""
    return str(uuid.uuid5(ALERT_NAMESPACE, reading_id))


def ticket_reason(alert: AlertInput) -> str:
    return (
        f"anomaly on {alert.sensor}: value {alert.value:g} at {as_utc(alert.reading_at).isoformat()} "
        f"(score {alert.anomaly_score:.2f}, model {alert.model_version})"
    )


def check_alert(alert: AlertInput) -> None:
    """InvalidCommand naming the field when the scorer handed over something no alert can hold."""
    if not math.isfinite(alert.value):
        raise InvalidCommand(f"value: {alert.value} is not a finite number")
    if not 0.0 <= alert.anomaly_score <= 1.0:
        raise InvalidCommand(f"anomaly_score: {alert.anomaly_score} is not between 0 and 1")
    if not alert.reading_id or not alert.model_version:
        raise InvalidCommand("reading_id and model_version must not be empty")


def record_alert(conn: psycopg.Connection, alert: AlertInput, *, actor: str) -> RecordedAlert:
    """Record ``alert`` and open or count on the device's ticket, in the caller's transaction (see module doc)."""
    check_alert(alert)
    alert_id = alert_id_for(alert.reading_id)
    lock_device_tickets(conn, alert.device_id)
    earlier = conn.execute(
        "SELECT alert_id, ticket_id FROM iot.anomaly_alerts WHERE reading_id = %s", (alert.reading_id,)
    ).fetchone()
    if earlier is not None:
        return RecordedAlert(earlier[0], earlier[1], new=False, ticket_opened=False)
    device = conn.execute(
        "SELECT site_id, owner_id FROM iot.devices WHERE device_id = %s", (alert.device_id,)
    ).fetchone()
    if device is None:
        raise NotFound(f"device_id: device {alert.device_id!r} does not exist")
    now, reading_at = datetime.now(UTC), as_utc(alert.reading_at)
    ticket = open_ticket_of(conn, alert.device_id)
    if ticket is None:
        ticket_id, ticket_event = insert_ticket(
            conn,
            device_id=alert.device_id,
            reason=ticket_reason(alert),
            actor=actor,
            at=now,
            alert_id=alert_id,
            alert_at=reading_at,
        )
    else:
        ticket_id = ticket.ticket_id
        note = f"alert {alert_id}: {ticket_reason(alert)}"
        ticket_event = count_alert(conn, ticket, alert_at=reading_at, note=note, actor=actor, at=now)
    _insert_alert(conn, alert, alert_id, ticket_id, now, actor)
    alerted = ev.AnomalyAlertedV1(
        alert_id=alert_id,
        device_id=alert.device_id,
        site_id=device[0],
        owner_id=device[1],
        sensor=alert.sensor,
        reading_id=alert.reading_id,
        reading_at=reading_at,
        value=alert.value,
        anomaly_score=alert.anomaly_score,
        model_version=alert.model_version,
        ticket_id=ticket_id,
        alerted_at=now,
    )
    outbox.append(conn, ev.DOMAIN, [ticket_event, ev.build_event(ev.ANOMALY_ALERTED, alert.device_id, alerted, now)])
    return RecordedAlert(alert_id, ticket_id, new=True, ticket_opened=ticket is None)


def _insert_alert(
    conn: psycopg.Connection, alert: AlertInput, alert_id: str, ticket_id: str, at: datetime, actor: str
) -> None:
    conn.execute(
        """INSERT INTO iot.anomaly_alerts (alert_id, device_id, sensor, reading_id, reading_at, value, anomaly_score,
        model_version, ticket_id, alerted_at, created_by, updated_by)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (
            alert_id,
            alert.device_id,
            alert.sensor,
            alert.reading_id,
            as_utc(alert.reading_at),
            alert.value,
            alert.anomaly_score,
            alert.model_version,
            ticket_id,
            at,
            actor,
            actor,
        ),
    )
