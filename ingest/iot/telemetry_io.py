"""The wire form of a telemetry batch on ``iot.telemetry``: encoded once by the gateway, parsed by every consumer.

A batch travels in the kit's envelope like every event (``iot.telemetry.batch`` v1, event id = batch id, key =
device), so bronze lands it like any topic. The gateway encodes from plain dicts it has already validated (no
second pydantic pass on a hot path of thousands of readings a second); consumers (the Cassandra writer, the live
scorer) parse with `parse_telemetry_message`, which validates against the contract and names what is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from ingest.iot.contract import TELEMETRY_BATCH, TelemetryBatchV1

Reading = dict[str, Any]  # reading_id, sensor, ts (ISO 8601 text), value, seq


def iso_utc(ts: datetime) -> str:
    """A timestamp as pydantic writes it in JSON (UTC with ``Z``), so both encoders agree byte for byte."""
    text = ts.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def encode_batch(batch_id: str, device_id: str, accepted_at: datetime, readings: Sequence[Reading]) -> bytes:
    """The envelope JSON of one batch (the same shape as ``EventEnvelope.to_json``)."""
    envelope = {
        "event_id": batch_id,
        "key": device_id,
        "occurred_at": accepted_at.astimezone(UTC).isoformat(),
        "payload": {
            "accepted_at": iso_utc(accepted_at),
            "batch_id": batch_id,
            "device_id": device_id,
            "readings": list(readings),
        },
        "type": TELEMETRY_BATCH[0],
        "version": TELEMETRY_BATCH[1],
    }
    return json.dumps(envelope, separators=(",", ":"), allow_nan=False).encode()


def encode_model(batch: TelemetryBatchV1) -> bytes:
    """A validated batch model in the same wire form."""
    readings = [reading.model_dump(mode="json") for reading in batch.readings]
    return encode_batch(batch.batch_id, batch.device_id, batch.accepted_at, readings)


def parse_telemetry_message(raw_value: bytes) -> TelemetryBatchV1:
    """The batch in a message of ``iot.telemetry``; raises ValueError naming the problem (for the dead letters)."""
    try:
        envelope = json.loads(raw_value)
    except (ValueError, TypeError) as error:  # UnicodeDecodeError is a ValueError
        raise ValueError(f"not JSON: {error}") from None
    if not isinstance(envelope, dict):
        raise ValueError(f"not an envelope: a JSON {type(envelope).__name__}")
    kind = (envelope.get("type"), envelope.get("version"))
    if kind != TELEMETRY_BATCH:
        raise ValueError(f"not a telemetry batch: type={kind[0]!r} version={kind[1]!r}")
    try:
        batch = TelemetryBatchV1.model_validate(envelope.get("payload"))
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}" for e in error.errors()[:5])
        raise ValueError(f"invalid payload: {problems}") from None
    if envelope.get("key") not in (None, batch.device_id):
        raise ValueError(f"envelope key {envelope.get('key')!r} is not the batch's device {batch.device_id!r}")
    return batch
