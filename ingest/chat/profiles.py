"""Chat user profiles in MongoDB (``chat_profiles``, one document per user): a projection of the user events.

Profile changes are decided in PostgreSQL (the ``chat.users`` row holds the profile and its version) and travel
through chat's outbox like every other change, instead of the catalog's events-inside-documents pattern: a block
list is checked in the same transaction as a message, and one outbox keeps one order of events per user. The
document is what profile pages read. It is written after commit by the app and again by the relay, only when
newer (``profile_version``), so replays and races leave the newest profile in place.
"""

from __future__ import annotations

from typing import Any

from pymongo.collection import Collection

from ingest.chat import contract as ev
from ingest.core.versioned_documents import VersionedDocuments

COLLECTION = "chat_profiles"


def profile_document(event_type: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The document a user event leaves behind; None for events that are not about profiles."""
    if event_type == ev.USER_REGISTERED[0]:
        fields = {"display_name": payload["display_name"], "avatar_url": None, "preferences": {}, "blocked_users": []}
        return {"_id": payload["user_id"], **fields, "profile_version": 0}
    if event_type == ev.PROFILE_UPDATED[0]:
        preferences = {item["name"]: item["value"] for item in payload["preferences"]}
        return {
            "_id": payload["user_id"],
            "display_name": payload["display_name"],
            "avatar_url": payload["avatar_url"],
            "preferences": preferences,
            "blocked_users": payload["blocked_users"],
            "profile_version": payload["profile_version"],
        }
    return None


class Profiles(VersionedDocuments):
    def __init__(self, collection: Collection) -> None:
        super().__init__(collection, profile_document, "profile_version")

    def find(self, user_id: str) -> dict[str, Any] | None:
        document = self.find_raw(user_id)
        if document is None:
            return None
        return {"user_id": document.pop("_id"), **document}
