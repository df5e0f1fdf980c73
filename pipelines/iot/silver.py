"""Typed registry events → silver rows: one function per silver table.

Inputs are the valid events of one (type, version) from the kit's parser: provenance, envelope fields and
``payload`` as a struct. Nothing here is personal except ``owner_id`` (a user id of the shared identity space, kept so
an alert reaches its owner) and ``configured_by`` / ``updated_by`` (actors, the same kind of id).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

# A device starts as the registry creates it; its status changes arrive as their own events.
INITIAL_STATUS = "provisioned"


def _payload(events: DataFrame, *fields: str, extra: tuple[Column, ...] = ()) -> DataFrame:
    return events.select(*[f"payload.{name}" for name in fields], *extra, "event_id", "occurred_at")


def sites(events: DataFrame) -> DataFrame:
    return _payload(events, "site_id", "name", "timezone", "registered_at")


def device_models(events: DataFrame) -> DataFrame:
    return _payload(events, "model_id", "name", "sensors", "sampling_seconds", "registered_at")


def devices(events: DataFrame) -> DataFrame:
    """Registration, with the status columns a later status change fills (see ``current_state``)."""
    status = (
        F.lit(INITIAL_STATUS).alias("status"),
        F.lit(None).cast("string").alias("status_reason"),
        F.lit(None).cast("timestamp").alias("status_changed_at"),
    )
    return _payload(events, "device_id", "serial", "model_id", "site_id", "owner_id", "registered_at", extra=status)


def device_status_changes(events: DataFrame) -> DataFrame:
    return _payload(events, "device_id", "status", "reason", "changed_at")


def device_configurations(events: DataFrame) -> DataFrame:
    fields = ("device_id", "config_version", "sampling_seconds", "sensors", "configured_by", "configured_at")
    return _payload(events, *fields)


def firmware_releases(events: DataFrame) -> DataFrame:
    return _payload(
        events, "model_id", "notes", "released_at", extra=(F.col("payload.version").alias("firmware_version"),)
    )


def firmware_installs(events: DataFrame) -> DataFrame:
    version = F.col("payload.version").alias("firmware_version")
    return _payload(events, "device_id", "model_id", "previous_version", "rollout_id", "installed_at", extra=(version,))


def tickets(events: DataFrame) -> DataFrame:
    """A ticket as opened; its updates (status, alert count, notes) arrive as their own events."""
    opened = (
        F.lit("open").alias("status"),
        F.when(F.col("payload.alert_id").isNotNull(), 1).otherwise(0).alias("alert_count"),
        F.lit(None).cast("string").alias("note"),
        F.lit(None).cast("string").alias("updated_by"),
        F.lit(None).cast("timestamp").alias("updated_at"),
    )
    return _payload(events, "ticket_id", "device_id", "reason", "alert_id", "opened_at", extra=opened)


def ticket_updates(events: DataFrame) -> DataFrame:
    return _payload(events, "ticket_id", "device_id", "status", "alert_count", "note", "updated_by", "updated_at")


def alerts(events: DataFrame) -> DataFrame:
    fields = ("alert_id", "device_id", "site_id", "owner_id", "sensor", "reading_id", "reading_at", "value")
    return _payload(events, *fields, "anomaly_score", "model_version", "ticket_id", "alerted_at")
