"""What IoT silver must look like: one Great Expectations suite per silver table, blocking gold."""

from __future__ import annotations

from collections.abc import Callable

from ingest.iot.contract import DEVICE_STATUSES, TICKET_STATUSES
from pipelines.core.expectations import gxe, keyed, not_negative, positive


def _not_null(*columns: str) -> list[gxe.Expectation]:
    return [gxe.ExpectColumnValuesToNotBeNull(column=column) for column in columns]


def _score(column: str) -> gxe.Expectation:
    return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=1)


SILVER_EXPECTATIONS: dict[str, Callable[[], list[gxe.Expectation]]] = {
    "sites": lambda: [*keyed("site_id"), *_not_null("timezone")],
    "device_models": lambda: [*keyed("model_id"), positive("sampling_seconds"), *_not_null("sensors")],
    "devices": lambda: [
        *keyed("device_id"),
        *keyed("serial"),
        *_not_null("model_id", "site_id", "owner_id"),
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(DEVICE_STATUSES)),
    ],
    "device_status_changes": lambda: [*keyed("device_id", "changed_at"), *_not_null("status")],
    "device_configurations": lambda: [*keyed("device_id"), positive("config_version"), positive("sampling_seconds")],
    "firmware_releases": lambda: [*keyed("model_id", "firmware_version")],
    "firmware_installs": lambda: [*keyed("device_id", "installed_at"), *_not_null("firmware_version", "model_id")],
    "tickets": lambda: [
        *keyed("ticket_id"),
        *_not_null("device_id"),
        not_negative("alert_count"),
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(TICKET_STATUSES)),
    ],
    "ticket_updates": lambda: [*keyed("ticket_id", "updated_at"), not_negative("alert_count")],
    "alerts": lambda: [*keyed("alert_id"), *keyed("reading_id"), _score("anomaly_score"), *_not_null("device_id")],
    "readings": lambda: [*keyed("reading_id"), *_not_null("device_id", "sensor", "ts", "value", "day", "batch_id")],
    "reading_scores": lambda: [*keyed("reading_id"), _score("anomaly_score"), *_not_null("device_id", "model_version")],
}
