"""Use cases for maintenance tickets a person handles: open one for a device (at most one not closed per device),
move it to in progress, close it. Alerts open and count on tickets by themselves (`alerts.record_alert`)."""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.core import outbox
from ingest.iot import contract as ev
from ingest.iot import tickets
from ingest.iot.commands import OpenTicket, UpdateTicket
from ingest.iot.context import IotContext
from ingest.iot.unit_of_work import Accepted, Outcome, remember, replayed, transaction


def open_ticket(command: OpenTicket, ctx: IotContext, actor: str) -> Outcome:
    with transaction(ctx, actor, "ticket", command.command_id) as conn:
        if (earlier := replayed(conn, command, command.command_id, "ticket")) is not None:
            return earlier
        ticket_id, event = tickets.open_ticket(
            conn, device_id=command.device_id, reason=command.reason, actor=actor, at=datetime.now(UTC)
        )
        event_ids = outbox.append(conn, ev.DOMAIN, [event])
        remember(conn, command, command.command_id, "ticket", ticket_id, 1)
    return Outcome(Accepted("ticket", ticket_id, "created", 1, event_ids), [event])


def update_ticket(command: UpdateTicket, ctx: IotContext, actor: str) -> Outcome:
    with transaction(ctx, actor, "ticket", command.command_id) as conn:
        if (earlier := replayed(conn, command, command.command_id, "ticket")) is not None:
            return earlier
        now = datetime.now(UTC)
        version, event = tickets.update_ticket(
            conn, ticket_id=command.ticket_id, status=command.status, note=command.note, actor=actor, at=now
        )
        event_ids = outbox.append(conn, ev.DOMAIN, [event])
        remember(conn, command, command.command_id, "ticket", command.ticket_id, version)
    return Outcome(Accepted("ticket", command.ticket_id, "updated", version, event_ids), [event])
