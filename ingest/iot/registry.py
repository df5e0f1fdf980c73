"""The registry's core writes: sites, device models, devices and their keys, as plain functions over an open
PostgreSQL connection inside the caller's transaction.

The app's use cases, the fleet generator and other helpers' tools (the gateway's tests, the live scorer) call
these. Each is idempotent by the id it creates: an identical repeat changes nothing, the same id with other
content is a conflict (`IdempotencyConflict`, HTTP 409). Each change appends its event to ``iot.outbox`` in the
same transaction; ``actor`` is recorded as created_by/updated_by (and, through the row, in the audit log).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from ingest.core import outbox, unit_of_work
from ingest.core.errors import Conflict, NotFound
from ingest.core.idempotency import fingerprint
from ingest.iot import contract as ev
from ingest.iot.commands import Command, CreateDeviceModel, CreateSite, RegisterDevice
from ingest.iot.device_keys import hash_device_key, new_device_key


@dataclass(frozen=True)
class DeviceCredentials:
    """What the gateway needs to accept a device's batch: its key hash, its model and whether it may send."""

    device_id: str
    key_hash: str
    model_id: str
    site_id: str
    status: str


def _exists(conn: psycopg.Connection, table: str, key_column: str, command: Command, what: str) -> bool:
    """True when the row exists, written by this same command; raises IdempotencyConflict for other content."""
    return unit_of_work.replayed(conn, ev.DOMAIN, table, key_column, command, what) is not None


def ensure_site(conn: psycopg.Connection, *, site_id: str, name: str, timezone: str, actor: str) -> bool:
    """Register a site unless it exists; True if created."""
    command = CreateSite(site_id=site_id, name=name, timezone=timezone)
    if _exists(conn, "sites", "site_id", command, "site"):
        return False
    inserted = conn.execute(
        """INSERT INTO iot.sites (site_id, name, timezone, command_fingerprint, created_by, updated_by)
        VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (site_id) DO NOTHING""",
        (site_id, name, timezone, fingerprint(command), actor, actor),
    ).rowcount
    if not inserted:  # a concurrent twin committed first: same content is fine, other content is a conflict
        _exists(conn, "sites", "site_id", command, "site")
        return False
    now = datetime.now(UTC)
    payload = ev.SiteRegisteredV1(site_id=site_id, name=name, timezone=timezone, registered_at=now)
    outbox.append(conn, ev.DOMAIN, [ev.build_event(ev.SITE_REGISTERED, site_id, payload, now)])
    return True


def ensure_device_model(
    conn: psycopg.Connection, *, model_id: str, name: str, sensors: list[str], sampling_seconds: int, actor: str
) -> bool:
    """Register a device model (its sensors and nominal sampling period) unless it exists; True if created."""
    command = CreateDeviceModel(model_id=model_id, name=name, sensors=list(sensors), sampling_seconds=sampling_seconds)
    if _exists(conn, "device_models", "model_id", command, "device model"):
        return False
    inserted = conn.execute(
        """INSERT INTO iot.device_models (model_id, name, sensors, sampling_seconds, command_fingerprint,
        created_by, updated_by) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (model_id) DO NOTHING""",
        (model_id, name, command.sensors, sampling_seconds, fingerprint(command), actor, actor),
    ).rowcount
    if not inserted:
        _exists(conn, "device_models", "model_id", command, "device model")
        return False
    now = datetime.now(UTC)
    payload = ev.DeviceModelRegisteredV1(**command.model_dump(), registered_at=now)
    outbox.append(conn, ev.DOMAIN, [ev.build_event(ev.DEVICE_MODEL_REGISTERED, model_id, payload, now)])
    return True


def register_device(
    conn: psycopg.Connection,
    *,
    device_id: str,
    serial: str,
    model_id: str,
    site_id: str,
    owner_id: str,
    actor: str,
    key: str | None = None,
) -> str | None:
    """Register a device; returns its plain key (a new random one unless ``key`` is given) when it registered it,
    None when the device already existed (its key was shown once: `rotate_device_key` issues a new one)."""
    command = RegisterDevice(device_id=device_id, serial=serial, model_id=model_id, site_id=site_id, owner_id=owner_id)
    if _exists(conn, "devices", "device_id", command, "device"):
        return None
    _require(
        conn, "SELECT 1 FROM iot.device_models WHERE model_id = %s", model_id, f"model_id: device model {model_id!r}"
    )
    _require(conn, "SELECT 1 FROM iot.sites WHERE site_id = %s", site_id, f"site_id: site {site_id!r}")
    _check_serial_free(conn, serial)
    plain = key if key is not None else new_device_key()
    now = datetime.now(UTC)
    inserted = conn.execute(
        """INSERT INTO iot.devices (device_id, serial, model_id, site_id, owner_id, key_hash, registered_at,
        command_fingerprint, created_by, updated_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT DO NOTHING""",
        (
            device_id,
            serial,
            model_id,
            site_id,
            owner_id,
            hash_device_key(plain),
            now,
            fingerprint(command),
            actor,
            actor,
        ),
    ).rowcount
    if not inserted:  # a concurrent registration of this device or this serial committed first
        if _exists(conn, "devices", "device_id", command, "device"):
            return None
        _check_serial_free(conn, serial)
        raise Conflict(f"device_id: device {device_id!r} was registered concurrently with other content")
    payload = ev.DeviceRegisteredV1(**command.model_dump(), registered_at=now)
    outbox.append(conn, ev.DOMAIN, [ev.build_event(ev.DEVICE_REGISTERED, device_id, payload, now)])
    return plain


def rotate_device_key(conn: psycopg.Connection, *, device_id: str, actor: str) -> str:
    """A new key for an existing device (the old one stops working at commit); the change is in the audit log."""
    plain = new_device_key()
    row = conn.execute(
        "UPDATE iot.devices SET key_hash = %s, updated_by = %s WHERE device_id = %s RETURNING device_id",
        (hash_device_key(plain), actor, device_id),
    ).fetchone()
    if row is None:
        raise NotFound(f"device_id: device {device_id!r} does not exist")
    return plain


def device_model_of(conn: psycopg.Connection, device_id: str) -> str | None:
    row = conn.execute("SELECT model_id FROM iot.devices WHERE device_id = %s", (device_id,)).fetchone()
    return None if row is None else row[0]


def device_credentials(conn: psycopg.Connection, device_id: str) -> DeviceCredentials | None:
    row = conn.execute(
        "SELECT device_id, key_hash, model_id, site_id, status FROM iot.devices WHERE device_id = %s", (device_id,)
    ).fetchone()
    return None if row is None else DeviceCredentials(*row)


def _require(conn: psycopg.Connection, query: str, key: str, what: str) -> None:
    if conn.execute(query, (key,)).fetchone() is None:
        raise NotFound(f"{what} does not exist")


def _check_serial_free(conn: psycopg.Connection, serial: str) -> None:
    row = conn.execute("SELECT device_id FROM iot.devices WHERE serial = %s", (serial,)).fetchone()
    if row is not None:
        raise Conflict(f"serial: {serial!r} is already registered to device {row[0]!r}")
