"""MongoDB documents that are projections of a domain's outbox events, written only when newer.

A domain decides a change in PostgreSQL (with a version number) and sends it through its outbox; the document is
what readers open. The app writes it after commit and the relay writes it again from the event, so both writers
must agree: a document replaces the stored one only when its version is higher, and a replay or a race leaves the
newest in place (chat's profiles, IoT's device configurations).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

# (event type, payload) -> the document the event leaves behind (with ``_id``), or None for other events.
ToDocument = Callable[[str, dict[str, Any]], dict[str, Any] | None]


class VersionedDocuments:
    def __init__(self, collection: Collection, to_document: ToDocument, version_field: str) -> None:
        self.collection = collection
        self.to_document = to_document
        self.version_field = version_field

    def project(self, envelope_texts: list[str]) -> int:
        """The relay's projection: envelopes as published; returns the documents written."""
        return self.apply(json.loads(text) for text in envelope_texts)

    def apply(self, envelopes: Iterable[dict[str, Any]]) -> int:
        written = 0
        for envelope in envelopes:
            document = self.to_document(envelope["type"], envelope["payload"])
            if document is not None:
                written += self.save_if_newer(document)
        return written

    def save_if_newer(self, document: dict[str, Any]) -> int:
        """1 when ``document`` was stored, 0 when the stored one is as new or newer."""
        newer = {"_id": document["_id"], self.version_field: {"$lt": document[self.version_field]}}
        fields = {key: value for key, value in document.items() if key != "_id"}
        if self.collection.update_one(newer, {"$set": fields}).matched_count:
            return 1
        try:
            self.collection.insert_one(document)
        except DuplicateKeyError:  # the stored document is as new or newer: keep it
            return 0
        return 1

    def find_raw(self, key: str) -> dict[str, Any] | None:
        return self.collection.find_one({"_id": key})
