"""Use case: set a device's configuration (sampling period, per-sensor calibration and alert thresholds).

Decided in PostgreSQL (``iot.device_configs``, one row per device numbering its changes), announced by
``iot.device.configured`` carrying the whole configuration, projected to the MongoDB document after commit.
Every configured sensor must be one its model reports; sensors left out keep the identity calibration.
"""

from __future__ import annotations

from datetime import UTC, datetime

from psycopg.types.json import Jsonb

from ingest.core import outbox
from ingest.core.errors import InvalidCommand, NotFound
from ingest.iot import contract as ev
from ingest.iot.commands import ConfigureDevice
from ingest.iot.context import IotContext
from ingest.iot.unit_of_work import Accepted, Outcome, remember, replayed, transaction

UPSERT = """INSERT INTO iot.device_configs (device_id, config_version, sampling_seconds, sensors, configured_at,
created_by, updated_by) VALUES (%(device_id)s, 1, %(sampling)s, %(sensors)s, %(at)s, %(actor)s, %(actor)s)
ON CONFLICT (device_id) DO UPDATE SET config_version = iot.device_configs.config_version + 1,
sampling_seconds = EXCLUDED.sampling_seconds, sensors = EXCLUDED.sensors, configured_at = EXCLUDED.configured_at,
updated_by = EXCLUDED.updated_by RETURNING config_version"""


def configure_device(command: ConfigureDevice, ctx: IotContext, actor: str) -> Outcome:
    with transaction(ctx, actor, "config", command.command_id) as conn:
        if (earlier := replayed(conn, command, command.command_id, "config")) is not None:
            return earlier
        row = conn.execute(
            """SELECT m.sensors FROM iot.devices d JOIN iot.device_models m USING (model_id)
            WHERE d.device_id = %s FOR UPDATE OF d""",
            (command.device_id,),
        ).fetchone()
        if row is None:
            raise NotFound(f"device_id: device {command.device_id!r} does not exist")
        unknown = sorted({item.sensor for item in command.sensors} - set(row[0]))
        if unknown:
            raise InvalidCommand(f"sensors: {unknown} are not sensors of this device's model (it has {row[0]})")
        sensors = [item.model_dump() for item in command.sensors]
        now = datetime.now(UTC)
        params = {"device_id": command.device_id, "sampling": command.sampling_seconds, "at": now, "actor": actor}
        (version,) = conn.execute(UPSERT, params | {"sensors": Jsonb(sensors)}).fetchone()
        payload = ev.DeviceConfiguredV1(
            device_id=command.device_id,
            config_version=version,
            sampling_seconds=command.sampling_seconds,
            sensors=sensors,
            configured_by=actor,
            configured_at=now,
        )
        event = ev.build_event(ev.DEVICE_CONFIGURED, command.device_id, payload, now)
        event_ids = outbox.append(conn, ev.DOMAIN, [event])
        remember(conn, command, command.command_id, "config", command.device_id, version)
    outcome = "created" if version == 1 else "updated"
    return Outcome(Accepted("config", command.device_id, outcome, version, event_ids), [event])
