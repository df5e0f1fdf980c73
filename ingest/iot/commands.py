"""What a client can ask of the IoT registry: one pydantic model per command, validated before any use case runs.

Creating commands are idempotent by the id of what they create (site, device model, device, firmware version);
every other command carries a client-chosen ``command_id``, so a retry is recognised and changes nothing. Who acts
is not part of a command: it is the transaction's actor (the app's ``X-Actor`` header), recorded in the audit log.
"""

from __future__ import annotations

import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import Field, field_validator

from ingest.core.commands import Command as KitCommand
from ingest.iot.contract import SENSOR, VERSION

Id = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][\w.:@-]*$")
Sampling = Field(ge=1, le=86400, description="seconds between two readings of one sensor")


class Command(KitCommand):
    """Frozen, no unknown fields, JSON types as declared (``ingest.core.commands``)."""


class CreateSite(Command):
    site_id: str = Id
    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(
        min_length=1,
        max_length=64,
        description="IANA name, e.g. Europe/Berlin",
        # Documented as the names this server knows, so a client (or a fuzzer) can send one that is accepted.
        json_schema_extra={"enum": sorted(available_timezones())},
    )

    @field_validator("timezone")
    @classmethod
    def known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value


class CreateDeviceModel(Command):
    model_id: str = Id
    name: str = Field(min_length=1, max_length=200)
    sensors: list[str] = Field(min_length=1, max_length=32)
    sampling_seconds: int = Sampling

    @field_validator("sensors")
    @classmethod
    def distinct_sensor_names(cls, value: list[str]) -> list[str]:
        bad = [name for name in value if not _is_sensor(name)]
        if bad:
            raise ValueError(f"sensor names must match {SENSOR}: {bad}")
        if len(set(value)) != len(value):
            raise ValueError("sensor names must be distinct")
        return value


class RegisterDevice(Command):
    device_id: str = Id
    serial: str = Field(min_length=1, max_length=64)
    model_id: str = Id
    site_id: str = Id
    owner_id: str = Id  # a user id of the shared identity space (u-000001 ...)


class ChangeStatus(Command):
    command_id: str = Id
    device_id: str = Id
    status: Literal["provisioned", "active", "maintenance", "retired"]
    reason: str = Field(default="", max_length=500)


class RotateKey(Command):
    command_id: str = Id
    device_id: str = Id


class ReleaseFirmware(Command):
    model_id: str = Id
    version: str = Field(pattern=VERSION, description="major.minor.patch")
    notes: str = Field(default="", max_length=2000)


class RollOutFirmware(Command):
    """Install ``version`` on ``device_ids`` (all of ``model_id``); ``command_id`` is the rollout's id."""

    command_id: str = Id
    model_id: str = Id
    version: str = Field(pattern=VERSION)
    device_ids: list[str] = Field(min_length=1, max_length=1000)


class SensorCalibration(Command):
    sensor: str = Field(pattern=SENSOR)
    offset: float = Field(default=0.0, allow_inf_nan=False)
    scale: float = Field(default=1.0, allow_inf_nan=False)
    low: float | None = Field(default=None, allow_inf_nan=False)
    high: float | None = Field(default=None, allow_inf_nan=False)


class ConfigureDevice(Command):
    """The device's whole configuration after the change (sensors not listed get the identity calibration)."""

    command_id: str = Id
    device_id: str = Id
    sampling_seconds: int = Sampling
    sensors: list[SensorCalibration] = Field(default_factory=list, max_length=32)

    @field_validator("sensors")
    @classmethod
    def thresholds_in_order(cls, value: list[SensorCalibration]) -> list[SensorCalibration]:
        for item in value:
            if item.low is not None and item.high is not None and item.low >= item.high:
                raise ValueError(f"sensor {item.sensor!r}: low threshold {item.low} is not below high {item.high}")
        if len({item.sensor for item in value}) != len(value):
            raise ValueError("each sensor may be configured once")
        return value


class OpenTicket(Command):
    command_id: str = Id
    device_id: str = Id
    reason: str = Field(min_length=1, max_length=500)


class UpdateTicket(Command):
    command_id: str = Id
    ticket_id: str = Id
    status: Literal["open", "in_progress", "closed"]
    note: str = Field(default="", max_length=2000)


def _is_sensor(name: str) -> bool:
    return re.match(SENSOR, name) is not None
