"""What the app reads: a device (with its configuration and current firmware, never its key or key hash), a
site's devices, a device's tickets and alerts. Unknown devices and sites are a 404, not an empty list."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from ingest.core.errors import NotFound
from ingest.iot.context import IotContext

DEVICE = """SELECT d.device_id, d.serial, d.model_id, d.site_id, d.owner_id, d.status, d.registered_at,
d.firmware_version, (SELECT max(i.installed_at) FROM iot.firmware_installs i WHERE i.device_id = d.device_id
AND i.firmware_version = d.firmware_version) AS firmware_since, d.version FROM iot.devices d"""


def device(ctx: IotContext, device_id: str) -> dict[str, Any]:
    with ctx.pool.connection() as conn:
        row = _rows(conn, DEVICE + " WHERE d.device_id = %s", (device_id,))
    if not row:
        raise NotFound(f"device_id: device {device_id!r} does not exist")
    found = row[0]
    found["firmware"] = {"version": found.pop("firmware_version"), "since": found.pop("firmware_since")}
    found["config"] = ctx.configs.find(device_id)
    return found


def site_devices(ctx: IotContext, site_id: str, limit: int) -> list[dict[str, Any]]:
    with ctx.pool.connection() as conn:
        _require(conn, "SELECT 1 FROM iot.sites WHERE site_id = %s", site_id, f"site_id: site {site_id!r}")
        return _rows(conn, DEVICE + " WHERE d.site_id = %s ORDER BY d.device_id LIMIT %s", (site_id, limit))


def device_tickets(ctx: IotContext, device_id: str, limit: int) -> list[dict[str, Any]]:
    query = """SELECT ticket_id, status, reason, alert_count, last_alert_at, opened_at, closed_at, version
    FROM iot.maintenance_tickets WHERE device_id = %s ORDER BY opened_at DESC, ticket_id LIMIT %s"""
    with ctx.pool.connection() as conn:
        _require_device(conn, device_id)
        return _rows(conn, query, (device_id, limit))


def device_alerts(ctx: IotContext, device_id: str, limit: int) -> list[dict[str, Any]]:
    query = """SELECT alert_id, sensor, reading_id, reading_at, value, anomaly_score, model_version, ticket_id,
    alerted_at FROM iot.anomaly_alerts WHERE device_id = %s ORDER BY reading_at DESC, alert_id LIMIT %s"""
    with ctx.pool.connection() as conn:
        _require_device(conn, device_id)
        return _rows(conn, query, (device_id, limit))


def _rows(conn: psycopg.Connection, query: str, params: tuple) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(query, params).fetchall()


def _require_device(conn: psycopg.Connection, device_id: str) -> None:
    _require(conn, "SELECT 1 FROM iot.devices WHERE device_id = %s", device_id, f"device_id: device {device_id!r}")


def _require(conn: psycopg.Connection, query: str, key: str, what: str) -> None:
    if conn.execute(query, (key,)).fetchone() is None:
        raise NotFound(f"{what} does not exist")
