"""Use cases for sites, device models and devices: create, register (the key is answered once), change status,
rotate the key. Each is one PostgreSQL transaction with its audit rows and outbox events; registration is
idempotent by the id it creates, the others by their ``command_id``. A retired device stays retired.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.core import outbox
from ingest.core.errors import Conflict, NotFound
from ingest.iot import contract as ev
from ingest.iot import registry
from ingest.iot.commands import ChangeStatus, CreateDeviceModel, CreateSite, RegisterDevice, RotateKey
from ingest.iot.context import IotContext
from ingest.iot.unit_of_work import Accepted, Outcome, remember, replayed, transaction


def create_site(command: CreateSite, ctx: IotContext, actor: str) -> Outcome:
    with transaction(ctx, actor, "site", command.site_id) as conn:
        created = registry.ensure_site(conn, **command.model_dump(), actor=actor)
    return Outcome(Accepted("site", command.site_id, "created" if created else "unchanged", 1))


def create_device_model(command: CreateDeviceModel, ctx: IotContext, actor: str) -> Outcome:
    with transaction(ctx, actor, "device_model", command.model_id) as conn:
        created = registry.ensure_device_model(conn, **command.model_dump(), actor=actor)
    return Outcome(Accepted("device_model", command.model_id, "created" if created else "unchanged", 1))


def register_device(command: RegisterDevice, ctx: IotContext, actor: str) -> Outcome:
    """A repeat answers ``unchanged`` without a key: the key is shown once (rotate it to get a new one)."""
    with transaction(ctx, actor, "device", command.device_id) as conn:
        key = registry.register_device(conn, **command.model_dump(), actor=actor)
    outcome = "unchanged" if key is None else "created"
    return Outcome(Accepted("device", command.device_id, outcome, 1, device_key=key))


def change_status(command: ChangeStatus, ctx: IotContext, actor: str) -> Outcome:
    with transaction(ctx, actor, "device_status", command.command_id) as conn:
        if (earlier := replayed(conn, command, command.command_id, "device")) is not None:
            return earlier
        row = conn.execute(
            "SELECT status FROM iot.devices WHERE device_id = %s FOR UPDATE", (command.device_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"device_id: device {command.device_id!r} does not exist")
        if row[0] == "retired" and command.status != "retired":
            raise Conflict(f"status: device {command.device_id!r} is retired; a retired device stays retired")
        (version,) = conn.execute(
            "UPDATE iot.devices SET status = %s, updated_by = %s WHERE device_id = %s RETURNING version",
            (command.status, actor, command.device_id),
        ).fetchone()
        now = datetime.now(UTC)
        payload = ev.DeviceStatusChangedV1(
            device_id=command.device_id, status=command.status, reason=command.reason, changed_at=now
        )
        event = ev.build_event(ev.DEVICE_STATUS_CHANGED, command.device_id, payload, now)
        event_ids = outbox.append(conn, ev.DOMAIN, [event])
        remember(conn, command, command.command_id, "device_status", command.device_id, version)
    return Outcome(Accepted("device", command.device_id, "updated", version, event_ids), [event])


def rotate_key(command: RotateKey, ctx: IotContext, actor: str) -> Outcome:
    """A new key (answered once); a replay of the same command answers ``unchanged`` without one."""
    with transaction(ctx, actor, "device_key", command.command_id) as conn:
        if (earlier := replayed(conn, command, command.command_id, "device_key")) is not None:
            return earlier
        key = registry.rotate_device_key(conn, device_id=command.device_id, actor=actor)
        (version,) = conn.execute(
            "SELECT version FROM iot.devices WHERE device_id = %s", (command.device_id,)
        ).fetchone()
        remember(conn, command, command.command_id, "device_key", command.device_id, version)
    return Outcome(Accepted("device_key", command.device_id, "updated", version, device_key=key))
