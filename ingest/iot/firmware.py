"""Use cases for firmware: release a version for a device model, and roll it out to a list of devices.

A rollout records one ``iot.firmware_installs`` row per device ("from then on, this device runs that version")
and sets the device's current version; devices already on it are left alone. Every device must exist (404) and
be of the release's model (409: firmware for the wrong model is refused, and nothing of the rollout is written).
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from ingest.core import outbox
from ingest.core.errors import Conflict, NotFound
from ingest.core.outbox import OutboxEvent
from ingest.iot import contract as ev
from ingest.iot.commands import ReleaseFirmware, RollOutFirmware
from ingest.iot.context import IotContext
from ingest.iot.unit_of_work import Accepted, Outcome, remember, replayed, transaction


def release_firmware(command: ReleaseFirmware, ctx: IotContext, actor: str) -> Outcome:
    """Idempotent by (model, version): the same notes again change nothing, other notes are a conflict."""
    release_id = f"{command.model_id}/{command.version}"
    with transaction(ctx, actor, "firmware", release_id) as conn:
        if conn.execute("SELECT 1 FROM iot.device_models WHERE model_id = %s", (command.model_id,)).fetchone() is None:
            raise NotFound(f"model_id: device model {command.model_id!r} does not exist")
        existing = conn.execute(
            "SELECT notes, version FROM iot.firmware_releases WHERE model_id = %s AND firmware_version = %s",
            (command.model_id, command.version),
        ).fetchone()
        if existing is not None:
            if existing[0] != command.notes:
                raise Conflict(f"version: firmware {release_id} was already released with other notes")
            return Outcome(Accepted("firmware", release_id, "unchanged", existing[1]))
        now = datetime.now(UTC)
        conn.execute(
            """INSERT INTO iot.firmware_releases (model_id, firmware_version, notes, released_at, created_by,
            updated_by) VALUES (%s, %s, %s, %s, %s, %s)""",
            (command.model_id, command.version, command.notes, now, actor, actor),
        )
        payload = ev.FirmwareReleasedV1(**command.model_dump(), released_at=now)
        event = ev.build_event(ev.FIRMWARE_RELEASED, command.model_id, payload, now)
        event_ids = outbox.append(conn, ev.DOMAIN, [event])
    return Outcome(Accepted("firmware", release_id, "created", 1, event_ids), [event])


def roll_out_firmware(command: RollOutFirmware, ctx: IotContext, actor: str) -> Outcome:
    """Install the release on every listed device; the result's version is how many devices changed."""
    with transaction(ctx, actor, "rollout", command.command_id) as conn:
        if (earlier := replayed(conn, command, command.command_id, "rollout")) is not None:
            return earlier
        release = (command.model_id, command.version)
        found = "SELECT 1 FROM iot.firmware_releases WHERE model_id = %s AND firmware_version = %s"
        if conn.execute(found, release).fetchone() is None:
            raise NotFound(f"version: firmware {command.model_id}/{command.version} was not released")
        current = _devices_of_model(conn, list(dict.fromkeys(command.device_ids)), command.model_id)
        now = datetime.now(UTC)
        events = [
            _install(conn, command, device_id, previous, now, actor)
            for device_id, previous in current.items()
            if previous != command.version
        ]
        event_ids = outbox.append(conn, ev.DOMAIN, events)
        remember(conn, command, command.command_id, "rollout", command.command_id, len(events))
    return Outcome(Accepted("rollout", command.command_id, "created", len(events), event_ids), events)


def _devices_of_model(conn: psycopg.Connection, device_ids: list[str], model_id: str) -> dict[str, str | None]:
    """Each device's current version, locked; NotFound / Conflict naming the devices that do not fit."""
    rows = conn.execute(
        """SELECT device_id, model_id, firmware_version FROM iot.devices WHERE device_id = ANY(%s)
        ORDER BY device_id FOR UPDATE""",
        (device_ids,),
    ).fetchall()
    missing = sorted(set(device_ids) - {row[0] for row in rows})
    if missing:
        raise NotFound(f"device_ids: device(s) {', '.join(map(repr, missing))} do not exist")
    wrong = sorted(f"{row[0]!r} is a {row[1]}" for row in rows if row[1] != model_id)
    if wrong:
        raise Conflict(f"device_ids: firmware for {model_id!r} does not fit: {', '.join(wrong)}")
    return {row[0]: row[2] for row in rows}


def _install(
    conn: psycopg.Connection, command: RollOutFirmware, device_id: str, previous: str | None, at: datetime, actor: str
) -> OutboxEvent:
    conn.execute(
        """INSERT INTO iot.firmware_installs (device_id, installed_at, model_id, firmware_version, previous_version,
        rollout_id, created_by, updated_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
        (device_id, at, command.model_id, command.version, previous, command.command_id, actor, actor),
    )
    conn.execute(
        "UPDATE iot.devices SET firmware_version = %s, updated_by = %s WHERE device_id = %s",
        (command.version, actor, device_id),
    )
    payload = ev.FirmwareInstalledV1(
        device_id=device_id,
        model_id=command.model_id,
        version=command.version,
        previous_version=previous,
        rollout_id=command.command_id,
        installed_at=at,
    )
    return ev.build_event(ev.FIRMWARE_INSTALLED, device_id, payload, at)
