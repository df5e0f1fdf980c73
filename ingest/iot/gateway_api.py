"""The telemetry gateway's request and response as documented in its OpenAPI schema.

The gateway itself validates request bodies by hand (`telemetry_batches.accept_batch`: one pass, every problem
listed); these models only describe the same shape for the docs and for clients.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ReadingIn(BaseModel):
    sensor: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", description="one of the device model's sensors")
    ts: datetime | float = Field(description="when measured: ISO 8601 (no offset = UTC) or epoch seconds")
    value: float = Field(description="a finite number")
    seq: int | None = Field(default=None, ge=0, description="the device's sequence number: fixes the reading id")


class TelemetryIn(BaseModel):
    batch_id: str | None = Field(
        default=None, max_length=128, description="the client's id for this batch (default: a hash of its readings)"
    )
    readings: list[ReadingIn] = Field(min_length=1, description="at most LAKEHOUSE_TELEMETRY_MAX_BATCH readings")


class TelemetryAccepted(BaseModel):
    batch_id: str
    device_id: str
    accepted: int = Field(description="readings accepted (all of the batch)")
    messages: list[str] = Field(description="the id of each message produced (one per chunk of 1,000 readings)")
    accepted_at: datetime


class Refused(BaseModel):
    detail: str
    problems: list[str] = Field(default_factory=list, description="every bad reading, by index, with its problem")


def request_body_schema() -> dict[str, Any]:
    """TelemetryIn's JSON schema with its reading inlined (an OpenAPI ``requestBody`` cannot point at ``$defs``)."""
    schema = TelemetryIn.model_json_schema()
    reading = schema.pop("$defs")["ReadingIn"]
    schema["properties"]["readings"]["items"] = reading
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
