"""The IoT event contract: the registry's events (through the outbox), the telemetry and score batches (straight to
Kafka), the topic of each, and where the IoT migrations live (the kit's `DomainContract`).

Registry changes (sites, device models, devices, firmware, configuration, tickets, alerts) are appended to
``iot.outbox`` in the transaction that makes them, like every domain's. Telemetry is too voluminous for that: the
gateway produces each accepted batch of one device's readings to ``iot.telemetry`` itself, keyed by device (one
device's readings stay in one partition, in order), and the live scorer produces their scores to
``iot.anomaly_scores``. Both still travel in the kit's envelope, so bronze lands them like any other topic. Every
reading carries a ``reading_id`` fixed by the device and its sequence number (or its timestamp): a retried batch
repeats ids, and everything downstream deduplicates on them. A breaking change is a new version.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from ingest.core import outbox
from ingest.core.contract import DomainContract, EventPayload
from stack.bootstrap.kafka_topics import retained_topic

DOMAIN = "iot"
SITES_TOPIC = "iot.sites"
DEVICE_MODELS_TOPIC = "iot.device_models"
DEVICES_TOPIC = "iot.devices"
FIRMWARE_TOPIC = "iot.firmware"
TICKETS_TOPIC = "iot.tickets"
ALERTS_TOPIC = "iot.alerts"
TELEMETRY_TOPIC = "iot.telemetry"
SCORES_TOPIC = "iot.anomaly_scores"
REGISTRY_TOPICS = (SITES_TOPIC, DEVICE_MODELS_TOPIC, DEVICES_TOPIC, FIRMWARE_TOPIC, TICKETS_TOPIC, ALERTS_TOPIC)

DEVICE_STATUSES = ("provisioned", "active", "maintenance", "retired")
TICKET_STATUSES = ("open", "in_progress", "closed")
SENSOR = r"^[a-z][a-z0-9_]{0,31}$"
VERSION = r"^\d+\.\d+\.\d+$"


class SiteRegisteredV1(EventPayload):
    site_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(min_length=1, max_length=64)  # IANA name: daily rollups per site use local days later
    registered_at: datetime


class DeviceModelRegisteredV1(EventPayload):
    model_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    sensors: list[str]  # the sensor names its devices report (each matching SENSOR)
    sampling_seconds: int = Field(ge=1, le=86400)  # the nominal cadence of one sensor
    registered_at: datetime


class DeviceRegisteredV1(EventPayload):
    device_id: str = Field(min_length=1, max_length=64)
    serial: str = Field(min_length=1, max_length=64)
    model_id: str
    site_id: str
    owner_id: str  # the person responsible: a user id of the shared identity space (chat tells them of alerts)
    registered_at: datetime


class DeviceStatusChangedV1(EventPayload):
    device_id: str
    status: Literal["provisioned", "active", "maintenance", "retired"]
    reason: str = Field(max_length=500)
    changed_at: datetime


class FirmwareReleasedV1(EventPayload):
    model_id: str
    version: str = Field(pattern=VERSION)
    notes: str = Field(max_length=2000)
    released_at: datetime


class FirmwareInstalledV1(EventPayload):
    """One step of a rollout: from ``installed_at`` on, the device runs ``version`` (until the next install)."""

    device_id: str
    model_id: str
    version: str = Field(pattern=VERSION)
    previous_version: str | None
    rollout_id: str
    installed_at: datetime


class SensorCalibrationV1(EventPayload):
    sensor: str = Field(pattern=SENSOR)
    offset: float = 0.0
    scale: float = 1.0
    low: float | None = None  # alert thresholds a person set (besides what the model finds)
    high: float | None = None


class DeviceConfiguredV1(EventPayload):
    """The whole configuration after the change (MongoDB's document is its projection)."""

    device_id: str
    config_version: int = Field(ge=1)
    sampling_seconds: int = Field(ge=1, le=86400)
    sensors: list[SensorCalibrationV1]
    configured_by: str
    configured_at: datetime


class TicketOpenedV1(EventPayload):
    ticket_id: str = Field(min_length=1, max_length=64)
    device_id: str
    reason: str = Field(max_length=500)
    alert_id: str | None  # the alert that opened it; None when a person opened it
    opened_at: datetime


class TicketUpdatedV1(EventPayload):
    ticket_id: str
    device_id: str
    status: Literal["open", "in_progress", "closed"]
    alert_count: int = Field(ge=0)
    note: str = Field(max_length=2000)
    updated_by: str
    updated_at: datetime


class AnomalyAlertedV1(EventPayload):
    """A reading the anomaly model alerted on; also a NATS notification (the owner's chat hears of it)."""

    alert_id: str
    device_id: str
    site_id: str
    owner_id: str
    sensor: str
    reading_id: str
    reading_at: datetime
    value: float
    anomaly_score: float = Field(ge=0, le=1)
    model_version: str
    ticket_id: str
    alerted_at: datetime


class ReadingV1(EventPayload):
    reading_id: str  # see reading_id(): device + sensor + sequence (or timestamp)
    sensor: str = Field(pattern=SENSOR)
    ts: datetime  # when the device measured it (UTC)
    value: float = Field(allow_inf_nan=False)
    seq: int | None = Field(default=None, ge=0)


class TelemetryBatchV1(EventPayload):
    """One accepted batch of one device's readings, as the gateway produced it (keyed by device)."""

    batch_id: str  # the client's batch id, or a hash of the batch: a retry has the same one
    device_id: str
    accepted_at: datetime
    readings: list[ReadingV1]


class ReadingScoreV1(EventPayload):
    reading_id: str
    ts: datetime
    value: float
    anomaly_score: float = Field(ge=0, le=1)
    alert: bool


class ScoresBatchV1(EventPayload):
    """The live scorer's scores of one device's sensor readings, in reading order (keyed by device)."""

    device_id: str
    sensor: str
    model_version: str
    scored_at: datetime
    scores: list[ReadingScoreV1]


SITE_REGISTERED = ("iot.site.registered", 1)
DEVICE_MODEL_REGISTERED = ("iot.device_model.registered", 1)
DEVICE_REGISTERED = ("iot.device.registered", 1)
DEVICE_STATUS_CHANGED = ("iot.device.status_changed", 1)
DEVICE_CONFIGURED = ("iot.device.configured", 1)
FIRMWARE_RELEASED = ("iot.firmware.released", 1)
FIRMWARE_INSTALLED = ("iot.firmware.installed", 1)
TICKET_OPENED = ("iot.ticket.opened", 1)
TICKET_UPDATED = ("iot.ticket.updated", 1)
ANOMALY_ALERTED = ("iot.anomaly.alerted", 1)
TELEMETRY_BATCH = ("iot.telemetry.batch", 1)
SCORES_BATCH = ("iot.anomaly.scored", 1)

EVENT_SCHEMAS: dict[tuple[str, int], tuple[type[EventPayload], str]] = {
    SITE_REGISTERED: (SiteRegisteredV1, SITES_TOPIC),
    DEVICE_MODEL_REGISTERED: (DeviceModelRegisteredV1, DEVICE_MODELS_TOPIC),
    DEVICE_REGISTERED: (DeviceRegisteredV1, DEVICES_TOPIC),
    DEVICE_STATUS_CHANGED: (DeviceStatusChangedV1, DEVICES_TOPIC),
    DEVICE_CONFIGURED: (DeviceConfiguredV1, DEVICES_TOPIC),
    FIRMWARE_RELEASED: (FirmwareReleasedV1, FIRMWARE_TOPIC),
    FIRMWARE_INSTALLED: (FirmwareInstalledV1, FIRMWARE_TOPIC),
    TICKET_OPENED: (TicketOpenedV1, TICKETS_TOPIC),
    TICKET_UPDATED: (TicketUpdatedV1, TICKETS_TOPIC),
    ANOMALY_ALERTED: (AnomalyAlertedV1, ALERTS_TOPIC),
    TELEMETRY_BATCH: (TelemetryBatchV1, TELEMETRY_TOPIC),
    SCORES_BATCH: (ScoresBatchV1, SCORES_TOPIC),
}

CONTRACT = DomainContract(
    name=DOMAIN,
    events=EVENT_SCHEMAS,
    topics=(
        *(retained_topic(topic) for topic in REGISTRY_TOPICS),
        # Telemetry: more partitions for parallel consumers, a week kept (Cassandra and the lake hold the history).
        retained_topic(TELEMETRY_TOPIC, partitions=6, retention_days=7),
        retained_topic(SCORES_TOPIC, partitions=6, retention_days=7),
    ),
    migrations=Path(__file__).with_name("migrations"),
    entities={
        "sites": SITES_TOPIC,
        "device_models": DEVICE_MODELS_TOPIC,
        "devices": DEVICES_TOPIC,
        "firmware": FIRMWARE_TOPIC,
        "tickets": TICKETS_TOPIC,
        "alerts": ALERTS_TOPIC,
        "telemetry": TELEMETRY_TOPIC,
        "scores": SCORES_TOPIC,
    },
    # The owner's chat is told of each alert (chat subscribes); any other domain may listen too.
    notifications=frozenset({ANOMALY_ALERTED[0]}),
    scopes={
        "registry:write": "add sites, device models, firmware and rollouts",
        "devices:write": "register devices, change their status and config, rotate their keys",
        "tickets:write": "open and update maintenance tickets",
        "read": "read devices, a site's devices, tickets and alerts",
    },
)


def reading_id(device_id: str, sensor: str, ts: datetime, seq: int | None) -> str:
    """A reading's identity: the device's sequence number when it sends one, else its timestamp (in microseconds).

    Fixed by what the device sent, so the same reading retried, replayed or re-imported has the same id.
    """
    if seq is not None:
        return f"{device_id}/{sensor}/s{seq}"
    micros = math.floor(ts.timestamp() * 1_000_000 + 0.5)
    return f"{device_id}/{sensor}/t{micros}"


def build_event(
    event: tuple[str, int], key: str, payload: EventPayload | dict[str, Any], occurred_at: datetime
) -> outbox.OutboxEvent:
    """An IoT event validated against this contract, ready for the outbox."""
    return outbox.build_event(CONTRACT, event[0], key, payload, occurred_at, event[1])
