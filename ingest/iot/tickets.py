"""Maintenance tickets: at most one not-closed ticket per device, opened by a person or by the first anomaly alert,
counted up by later alerts, moved to in progress and closed by a person.

Plain functions inside the caller's transaction; each returns the outbox event of its change for the caller to
append. Ticket decisions on one device are serialised (`lock_device_tickets`) so two alerts arriving together
never both open a ticket, and numbering (``t-<device>-<n>``) stays dense.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import psycopg

from ingest.core.errors import Conflict, NotFound
from ingest.core.outbox import OutboxEvent
from ingest.iot import contract as ev

MAX_ID = 64


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    device_id: str
    status: str
    alert_count: int


def next_ticket_id(device_id: str, number: int) -> str:
    """``t-<device>-<n>`` for the device's n-th ticket; a random id when that would not fit the 64 characters."""
    readable = f"t-{device_id}-{number}"
    return readable if len(readable) <= MAX_ID else f"t-{uuid.uuid4().hex}"


def lock_device_tickets(conn: psycopg.Connection, device_id: str) -> None:
    """Serialise ticket decisions for one device until the transaction ends."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"iot:tickets:{device_id}",))


def open_ticket_of(conn: psycopg.Connection, device_id: str) -> Ticket | None:
    row = conn.execute(
        """SELECT ticket_id, device_id, status, alert_count FROM iot.maintenance_tickets
        WHERE device_id = %s AND status <> 'closed' FOR UPDATE""",
        (device_id,),
    ).fetchone()
    return None if row is None else Ticket(*row)


def find_ticket(conn: psycopg.Connection, ticket_id: str) -> Ticket:
    row = conn.execute(
        "SELECT ticket_id, device_id, status, alert_count FROM iot.maintenance_tickets WHERE ticket_id = %s",
        (ticket_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"ticket_id: ticket {ticket_id!r} does not exist")
    return Ticket(*row)


def insert_ticket(
    conn: psycopg.Connection,
    *,
    device_id: str,
    reason: str,
    actor: str,
    at: datetime,
    alert_id: str | None = None,
    alert_at: datetime | None = None,
) -> tuple[str, OutboxEvent]:
    """Open a new ticket (the caller holds the device's ticket lock and checked none is open)."""
    count = conn.execute("SELECT count(*) FROM iot.maintenance_tickets WHERE device_id = %s", (device_id,)).fetchone()
    ticket_id = next_ticket_id(device_id, count[0] + 1)
    conn.execute(
        """INSERT INTO iot.maintenance_tickets (ticket_id, device_id, status, reason, alert_count, last_alert_at,
        opened_at, created_by, updated_by) VALUES (%s, %s, 'open', %s, %s, %s, %s, %s, %s)""",
        (ticket_id, device_id, reason, 0 if alert_id is None else 1, alert_at, at, actor, actor),
    )
    payload = ev.TicketOpenedV1(
        ticket_id=ticket_id, device_id=device_id, reason=reason, alert_id=alert_id, opened_at=at
    )
    return ticket_id, ev.build_event(ev.TICKET_OPENED, ticket_id, payload, at)


def open_ticket(
    conn: psycopg.Connection, *, device_id: str, reason: str, actor: str, at: datetime
) -> tuple[str, OutboxEvent]:
    """A person opens a ticket; Conflict when the device already has one that is not closed."""
    if conn.execute("SELECT 1 FROM iot.devices WHERE device_id = %s", (device_id,)).fetchone() is None:
        raise NotFound(f"device_id: device {device_id!r} does not exist")
    lock_device_tickets(conn, device_id)
    if (current := open_ticket_of(conn, device_id)) is not None:
        raise Conflict(f"device {device_id!r} already has ticket {current.ticket_id!r} ({current.status}): update it")
    return insert_ticket(conn, device_id=device_id, reason=reason, actor=actor, at=at)


def count_alert(
    conn: psycopg.Connection, ticket: Ticket, *, alert_at: datetime, note: str, actor: str, at: datetime
) -> OutboxEvent:
    """One more alert on the device's open ticket."""
    (alert_count,) = conn.execute(
        """UPDATE iot.maintenance_tickets SET alert_count = alert_count + 1,
        last_alert_at = greatest(last_alert_at, %s), updated_by = %s WHERE ticket_id = %s RETURNING alert_count""",
        (alert_at, actor, ticket.ticket_id),
    ).fetchone()
    return _updated(ticket, ticket.status, alert_count, note, actor, at)


def update_ticket(
    conn: psycopg.Connection, *, ticket_id: str, status: str, note: str, actor: str, at: datetime
) -> tuple[int, OutboxEvent]:
    """A person moves a ticket on (open, in progress, closed); a closed ticket stays closed. Returns its version."""
    ticket = find_ticket(conn, ticket_id)
    lock_device_tickets(conn, ticket.device_id)
    ticket = find_ticket(conn, ticket_id)  # as of the lock: an alert may just have counted on it
    if ticket.status == "closed":
        raise Conflict(f"ticket {ticket_id!r} is closed: open a new one")
    version, alert_count = conn.execute(
        """UPDATE iot.maintenance_tickets SET status = %s, updated_by = %s,
        closed_at = CASE WHEN %s = 'closed' THEN %s END WHERE ticket_id = %s RETURNING version, alert_count""",
        (status, actor, status, at, ticket_id),
    ).fetchone()
    return version, _updated(ticket, status, alert_count, note, actor, at)


def _updated(ticket: Ticket, status: str, alert_count: int, note: str, actor: str, at: datetime) -> OutboxEvent:
    payload = ev.TicketUpdatedV1(
        ticket_id=ticket.ticket_id,
        device_id=ticket.device_id,
        status=status,
        alert_count=alert_count,
        note=note,
        updated_by=actor,
        updated_at=at,
    )
    return ev.build_event(ev.TICKET_UPDATED, ticket.ticket_id, payload, at)
