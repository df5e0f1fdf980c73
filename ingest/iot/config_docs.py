"""Device configuration documents in MongoDB (``iot_device_configs``, ``_id`` = device id): the projection of
``iot.device.configured`` events that devices and dashboards read.

The configuration is decided in PostgreSQL (``iot.device_configs`` numbers each change) and travels through the
outbox like every registry change. The document is written after commit by the app and again by the relay, only
when newer (``config_version``), so replays and races leave the newest configuration in place (as chat's profiles).
"""

from __future__ import annotations

from typing import Any

from pymongo.collection import Collection

from ingest.core.versioned_documents import VersionedDocuments
from ingest.iot import contract as ev

COLLECTION = "iot_device_configs"


def config_document(event_type: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The document an event leaves behind; None for events that are not configurations."""
    if event_type != ev.DEVICE_CONFIGURED[0]:
        return None
    return {
        "_id": payload["device_id"],
        "config_version": payload["config_version"],
        "sampling_seconds": payload["sampling_seconds"],
        "sensors": {item["sensor"]: {k: v for k, v in item.items() if k != "sensor"} for item in payload["sensors"]},
        "configured_by": payload["configured_by"],
        "configured_at": payload["configured_at"],
    }


class DeviceConfigs(VersionedDocuments):
    def __init__(self, collection: Collection) -> None:
        super().__init__(collection, config_document, "config_version")

    def find(self, device_id: str) -> dict[str, Any] | None:
        document = self.find_raw(device_id)
        if document is None:
            return None
        document.pop("_id")
        return document
