"""Reading chat: a room's history page by page (newest first, opaque cursor) and a user's @mentions by month.

Membership is checked in PostgreSQL (the rules live there); the messages come from Cassandra. A page walks the
room's days (``chat_room_days``) from the cursor's day back, one partition at a time, until it has ``limit``
messages; one more is read to know whether another page exists.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg_pool import ConnectionPool

from ingest.chat import cursors
from ingest.chat.unit_of_work import require_member, require_room
from ingest.chat.views import MessageViews
from ingest.core.errors import Forbidden

FAR_FUTURE_DAY = "9999-12-31"


@dataclass(frozen=True)
class Page:
    messages: list[dict[str, Any]]
    next_cursor: str | None


def room_history(
    pool: ConnectionPool, views: MessageViews, room_id: str, user_id: str, limit: int, cursor: str | None
) -> Page:
    """The next ``limit`` messages of the room (tombstones included) for a member; 404/403 otherwise."""
    start = cursors.decode(cursor) if cursor else None
    with pool.connection() as conn:
        require_room(conn, room_id)
        require_member(conn, room_id, user_id)
    found: list[dict[str, Any]] = []
    for day in views.days(room_id, start.bucket if start else FAR_FUTURE_DAY, limit + 1):
        before = start.after if start and day == start.bucket else None
        found += views.day_page(room_id, day, before, limit + 1 - len(found))
        if len(found) > limit:
            break
    return _page(found, limit, lambda message: message["day"])


def mentions(
    pool: ConnectionPool,
    views: MessageViews,
    user_id: str,
    reader_id: str,
    month: str | None,
    limit: int,
    cursor: str | None,
) -> Page:
    """The messages that mention ``user_id`` in ``month`` (default: this month), newest first; only for the user."""
    if reader_id != user_id:
        raise Forbidden(f"only {user_id!r} may read their mentions")
    start = cursors.decode(cursor) if cursor else None
    month = start.bucket if start else month or datetime.now(UTC).strftime("%Y-%m")
    found = []
    for message_id, room_id, day in views.mentions(user_id, month, start.after if start else None, limit + 1):
        message = views.message(room_id, day, message_id)
        found.append(message or {"message_id": str(message_id), "room_id": room_id, "day": day, "deleted": True})
    return _page(found, limit, lambda _: month)


def _page(found: list[dict[str, Any]], limit: int, bucket_of: Callable[[dict[str, Any]], str]) -> Page:
    shown = found[:limit]
    if len(found) <= limit:
        return Page(shown, None)
    last = shown[-1]
    return Page(shown, cursors.encode(cursors.Cursor(bucket_of(last), uuid.UUID(last["message_id"]))))
