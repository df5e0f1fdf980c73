"""Device configuration documents in MongoDB (``iot_device_configs``, ``_id`` = device id): the projection of
``iot.device.configured`` events that devices and dashboards read.

The configuration is decided in PostgreSQL (``iot.device_configs`` numbers each change) and travels through the
outbox like every registry change. The document is written after commit by the app and again by the relay, only
when newer (``config_version``), so replays and races leave the newest configuration in place (as chat's profiles).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

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


class DeviceConfigs:
    def __init__(self, collection: Collection) -> None:
        self.collection = collection

    def project(self, envelope_texts: list[str]) -> int:
        return self.apply(json.loads(text) for text in envelope_texts)

    def apply(self, envelopes: Iterable[dict[str, Any]]) -> int:
        written = 0
        for envelope in envelopes:
            document = config_document(envelope["type"], envelope["payload"])
            if document is not None:
                written += self._save_if_newer(document)
        return written

    def _save_if_newer(self, document: dict[str, Any]) -> int:
        newer = {"_id": document["_id"], "config_version": {"$lt": document["config_version"]}}
        fields = {key: value for key, value in document.items() if key != "_id"}
        if self.collection.update_one(newer, {"$set": fields}).matched_count:
            return 1
        try:
            self.collection.insert_one(document)
        except DuplicateKeyError:  # the stored configuration is as new or newer: keep it
            return 0
        return 1

    def find(self, device_id: str) -> dict[str, Any] | None:
        document = self.collection.find_one({"_id": device_id})
        if document is None:
            return None
        document.pop("_id")
        return document
