"""IoT silver, declared with the kit: which silver tables each bronze topic feeds, and how.

Registry topics give current-state tables (newest wins) and insert-once histories; telemetry and scores give one
row per reading, keyed by ``reading_id`` so a retried or replayed batch adds nothing. The telemetry and scores flows
run in the stream (`pipelines/iot/stream.py`), available-now or long-running, through the same kit machinery.
"""

from __future__ import annotations

from ingest.iot import contract as ev
from ingest.iot.contract import CONTRACT
from pipelines.core.flow import SilverFlow, SilverTarget, silver_flows
from pipelines.iot import current_state, silver, telemetry

# The entities the stream runs (bronze and silver), rather than the kit's per-topic assets.
STREAMED = ("telemetry", "scores")

FLOWS: dict[str, SilverFlow] = silver_flows(
    SilverFlow(
        CONTRACT, "sites", (SilverTarget("sites", ev.SITE_REGISTERED, silver.sites, ("site_id",), "occurred_at"),)
    ),
    SilverFlow(
        CONTRACT,
        "device_models",
        (
            SilverTarget(
                "device_models", ev.DEVICE_MODEL_REGISTERED, silver.device_models, ("model_id",), "occurred_at"
            ),
        ),
    ),
    SilverFlow(
        CONTRACT,
        "devices",
        (
            SilverTarget("devices", ev.DEVICE_REGISTERED, silver.devices, ("device_id",), "occurred_at"),
            SilverTarget(
                "device_status_changes",
                ev.DEVICE_STATUS_CHANGED,
                silver.device_status_changes,
                ("device_id", "changed_at"),
            ),
            SilverTarget(
                "device_configurations",
                ev.DEVICE_CONFIGURED,
                silver.device_configurations,
                ("device_id",),
                "config_version",
            ),
        ),
        after_batch=(current_state.device_status,),
    ),
    SilverFlow(
        CONTRACT,
        "firmware",
        (
            SilverTarget(
                "firmware_releases",
                ev.FIRMWARE_RELEASED,
                silver.firmware_releases,
                ("model_id", "firmware_version"),
                "occurred_at",
            ),
            SilverTarget(
                "firmware_installs", ev.FIRMWARE_INSTALLED, silver.firmware_installs, ("device_id", "installed_at")
            ),
        ),
    ),
    SilverFlow(
        CONTRACT,
        "tickets",
        (
            SilverTarget("tickets", ev.TICKET_OPENED, silver.tickets, ("ticket_id",), "occurred_at"),
            SilverTarget("ticket_updates", ev.TICKET_UPDATED, silver.ticket_updates, ("ticket_id", "updated_at")),
        ),
        after_batch=(current_state.ticket_state,),
    ),
    SilverFlow(CONTRACT, "alerts", (SilverTarget("alerts", ev.ANOMALY_ALERTED, silver.alerts, ("alert_id",)),)),
    SilverFlow(
        CONTRACT,
        "telemetry",
        (SilverTarget("readings", ev.TELEMETRY_BATCH, telemetry.readings, ("reading_id",), flags=("late",)),),
    ),
    SilverFlow(
        CONTRACT,
        "scores",
        (
            SilverTarget(
                "reading_scores",
                ev.SCORES_BATCH,
                telemetry.reading_scores,
                ("reading_id",),
                "scored_at",
                flags=("alert",),
            ),
        ),
    ),
)
