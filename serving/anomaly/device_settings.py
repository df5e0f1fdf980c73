"""Which detector settings a device gets: the champion's rule (``params_for``) applied to the device's model and
that model's sampling cadence from the registry (``iot.device_models``). Shared by the live scorer and the service,
so a reading gets the same settings whichever path scores it."""

from __future__ import annotations

import psycopg

from ingest.iot.registry import device_model_of


def model_sampling_seconds(conn: psycopg.Connection, model_id: str) -> float | None:
    row = conn.execute("SELECT sampling_seconds FROM iot.device_models WHERE model_id = %s", (model_id,)).fetchone()
    return None if row is None else float(row[0])


def device_model(conn: psycopg.Connection, device_id: str, model_id: str | None) -> tuple[str | None, float | None]:
    """``(model_id, sampling_seconds)`` of a device: the given model, else the registry's; Nones when unknown."""
    model_id = model_id or device_model_of(conn, device_id)
    return model_id, (model_sampling_seconds(conn, model_id) if model_id else None)
