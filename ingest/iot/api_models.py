"""The IoT app's request bodies (for commands whose target is in the path) and its command response."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ingest.core.commands import JsonTyped
from ingest.iot.commands import VERSION, Id, Sampling, SensorCalibration


class Body(JsonTyped):
    model_config = ConfigDict(extra="forbid")


class StatusBody(Body):
    command_id: str = Id
    status: Literal["provisioned", "active", "maintenance", "retired"]
    reason: str = Field(default="", max_length=500)


class KeyRotationBody(Body):
    command_id: str = Id


class FirmwareBody(Body):
    version: str = Field(pattern=VERSION, description="major.minor.patch")
    notes: str = Field(default="", max_length=2000)


class RolloutBody(Body):
    command_id: str = Id  # the rollout's id
    device_ids: list[str] = Field(min_length=1, max_length=1000)


class ConfigBody(Body):
    command_id: str = Id
    sampling_seconds: int = Sampling
    sensors: list[SensorCalibration] = Field(default_factory=list, max_length=32)


class TicketBody(Body):
    command_id: str = Id
    reason: str = Field(min_length=1, max_length=500)


class TicketUpdateBody(Body):
    command_id: str = Id
    status: Literal["open", "in_progress", "closed"]
    note: str = Field(default="", max_length=2000)


class AcceptedOut(BaseModel):
    resource: str
    id: str
    outcome: Literal["created", "updated", "unchanged"]
    version: int
    event_ids: list[str]
    device_key: str | None = Field(
        default=None, description="the device's key, in the answer that created or rotated it only: store it now"
    )
