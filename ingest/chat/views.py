"""Chat's Cassandra read models: a room's messages by day (newest first), the days a room has messages, and the
messages that @mention a user, all written from chat events.

The same ``apply`` runs twice for a message: in the app right after the PostgreSQL commit (the sender sees the
message at once) and in the outbox relay after Kafka acked the event (the repair when the app crashed before its
write). Both are upserts of the same cells, written with the event's time as the Cassandra write timestamp
(``USING TIMESTAMP``): a replayed send can never undo a later edit, delete or moderation of the same message.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from cassandra.cluster import Session

from ingest.chat import contract as ev
from ingest.chat.buckets import month_of, write_timestamp

SENT = """INSERT INTO chat_messages_by_room (room_id, day, message_id, author_id, body, sent_at, deleted, moderation)
VALUES (?, ?, ?, ?, ?, ?, false, 'unscored') USING TIMESTAMP ?"""
ROOM_DAY = "INSERT INTO chat_room_days (room_id, day) VALUES (?, ?) USING TIMESTAMP ?"
MENTION = """INSERT INTO chat_mentions_by_user (user_id, month, message_id, room_id, day, author_id)
VALUES (?, ?, ?, ?, ?, ?) USING TIMESTAMP ?"""
EDITED = """UPDATE chat_messages_by_room USING TIMESTAMP ? SET body = ?, edited_at = ?
WHERE room_id = ? AND day = ? AND message_id = ?"""
DELETED = """UPDATE chat_messages_by_room USING TIMESTAMP ? SET body = null, deleted = true
WHERE room_id = ? AND day = ? AND message_id = ?"""
MODERATED = """UPDATE chat_messages_by_room USING TIMESTAMP ?
SET label = ?, score = ?, flagged = ?, moderation = 'scored' WHERE room_id = ? AND day = ? AND message_id = ?"""
COLUMNS = "message_id, author_id, body, sent_at, edited_at, deleted, label, score, flagged, moderation"
PAGE = f"SELECT {COLUMNS} FROM chat_messages_by_room WHERE room_id = ? AND day = ? LIMIT ?"
PAGE_AFTER = f"SELECT {COLUMNS} FROM chat_messages_by_room WHERE room_id = ? AND day = ? AND message_id < ? LIMIT ?"
ONE = f"SELECT {COLUMNS} FROM chat_messages_by_room WHERE room_id = ? AND day = ? AND message_id = ?"
DAYS = "SELECT day FROM chat_room_days WHERE room_id = ? AND day <= ? LIMIT ?"
MENTIONS = "SELECT message_id, room_id, day FROM chat_mentions_by_user WHERE user_id = ? AND month = ? LIMIT ?"
MENTIONS_AFTER = """SELECT message_id, room_id, day FROM chat_mentions_by_user WHERE user_id = ? AND month = ?
AND message_id < ? LIMIT ?"""


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def message_out(row: Any, room_id: str, day: str) -> dict[str, Any]:
    """A message as the API shows it; a deleted one keeps its place with no text."""
    out = row._asdict()
    out.update(message_id=str(out["message_id"]), room_id=room_id, day=day, deleted=bool(out["deleted"]))
    for name in ("sent_at", "edited_at"):
        out[name] = out[name].replace(tzinfo=UTC) if out[name] else None
    return out


class MessageViews:
    """The chat tables of one Cassandra session; statements prepared once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._statements = {
            name: session.prepare(text)
            for name, text in [
                ("sent", SENT),
                ("room_day", ROOM_DAY),
                ("mention", MENTION),
                ("edited", EDITED),
                ("deleted", DELETED),
                ("moderated", MODERATED),
                ("page", PAGE),
                ("page_after", PAGE_AFTER),
                ("one", ONE),
                ("days", DAYS),
                ("mentions", MENTIONS),
                ("mentions_after", MENTIONS_AFTER),
            ]
        }

    def project(self, envelope_texts: list[str]) -> int:
        """The relay's projection: apply the message events among ``envelope_texts``; returns how many."""
        return self.apply(json.loads(text) for text in envelope_texts)

    def apply(self, envelopes: Iterable[dict[str, Any]]) -> int:
        futures = []
        for envelope in envelopes:
            for statement, values in self._writes(envelope["type"], envelope["payload"]):
                futures.append(self.session.execute_async(self._statements[statement], values))
        for future in futures:
            future.result()
        return len(futures)

    def _writes(self, event_type: str, p: dict[str, Any]) -> list[tuple[str, tuple]]:
        if event_type == ev.MESSAGE_SENT[0]:
            at, message_id = _time(p["sent_at"]), uuid.UUID(p["message_id"])
            stamp, key = write_timestamp(at), (p["room_id"], p["day"])
            writes = [("sent", (*key, message_id, p["author_id"], p["text"], at, stamp))]
            writes.append(("room_day", (*key, stamp)))
            month = month_of(at)
            writes += [("mention", (u, month, message_id, *key, p["author_id"], stamp)) for u in p["mentions"]]
            return writes
        if event_type not in (ev.MESSAGE_EDITED[0], ev.MESSAGE_DELETED[0], ev.MESSAGE_MODERATED[0]):
            return []
        key = (p["room_id"], p["day"], uuid.UUID(p["message_id"]))
        if event_type == ev.MESSAGE_EDITED[0]:
            at = _time(p["edited_at"])
            return [("edited", (write_timestamp(at), p["text"], at, *key))]
        if event_type == ev.MESSAGE_DELETED[0]:
            return [("deleted", (write_timestamp(_time(p["deleted_at"])), *key))]
        stamp = write_timestamp(_time(p["moderated_at"]))
        return [("moderated", (stamp, p["label"], p["score"], p["flagged"], *key))]

    def message(self, room_id: str, day: str, message_id: uuid.UUID) -> dict[str, Any] | None:
        row = self.session.execute(self._statements["one"], (room_id, day, message_id)).one()
        return None if row is None else message_out(row, room_id, day)

    def days(self, room_id: str, up_to: str, limit: int) -> list[str]:
        return [row.day for row in self.session.execute(self._statements["days"], (room_id, up_to, limit))]

    def day_page(self, room_id: str, day: str, before: uuid.UUID | None, limit: int) -> list[dict[str, Any]]:
        if before is None:
            rows = self.session.execute(self._statements["page"], (room_id, day, limit))
        else:
            rows = self.session.execute(self._statements["page_after"], (room_id, day, before, limit))
        return [message_out(row, room_id, day) for row in rows]

    def mentions(self, user_id: str, month: str, before: uuid.UUID | None, limit: int) -> list[tuple]:
        if before is None:
            rows = self.session.execute(self._statements["mentions"], (user_id, month, limit))
        else:
            rows = self.session.execute(self._statements["mentions_after"], (user_id, month, before, limit))
        return [(row.message_id, row.room_id, row.day) for row in rows]
