"""Chat's PostgreSQL rows: users, rooms, memberships, the message ledger and applied commands.

Plain functions over a connection inside the caller's transaction; the use cases decide, these read and write.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import psycopg
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class Room:
    room_id: str
    kind: str
    external_ref: str | None
    created_at: datetime


@dataclass(frozen=True)
class Message:
    message_id: uuid.UUID
    room_id: str
    author_id: str
    day: date
    body: str
    sent_at: datetime
    deleted: bool
    version: int


@dataclass(frozen=True)
class AppliedCommand:
    fingerprint: str
    resource_id: str
    version: int


def insert_user(conn: psycopg.Connection, row: dict, fingerprint: str, actor: str) -> None:
    conn.execute(
        """INSERT INTO chat.users (user_id, display_name, email, registered_at, command_fingerprint,
        created_by, updated_by) VALUES (%s, %s, %s, %s, %s, %s, %s)""",
        (row["user_id"], row["display_name"], row["email"], row["registered_at"], fingerprint, actor, actor),
    )


def existing_users(conn: psycopg.Connection, user_ids: list[str]) -> set[str]:
    rows = conn.execute("SELECT user_id FROM chat.users WHERE user_id = ANY(%s)", (user_ids,)).fetchall()
    return {row[0] for row in rows}


def update_profile(conn: psycopg.Connection, user_id: str, display_name: str, profile: dict, actor: str) -> int | None:
    """Replace the user's profile; returns its new profile version (None: no such user)."""
    row = conn.execute(
        """UPDATE chat.users SET display_name = %s, profile = %s, profile_version = profile_version + 1,
        updated_by = %s WHERE user_id = %s RETURNING profile_version""",
        (display_name, Jsonb(profile), actor, user_id),
    ).fetchone()
    return None if row is None else row[0]


def insert_room(conn: psycopg.Connection, row: dict, fingerprint: str, actor: str) -> None:
    conn.execute(
        """INSERT INTO chat.rooms (room_id, kind, title, external_ref, opened_at, command_fingerprint,
        created_by, updated_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
        (row["room_id"], row["kind"], row["title"], row["external_ref"], row["created_at"], fingerprint, actor, actor),
    )


def find_room(conn: psycopg.Connection, room_id: str) -> Room | None:
    row = conn.execute(
        "SELECT room_id, kind, external_ref, opened_at FROM chat.rooms WHERE room_id = %s", (room_id,)
    ).fetchone()
    return None if row is None else Room(*row)


def room_by_external_ref(conn: psycopg.Connection, external_ref: str) -> str | None:
    row = conn.execute("SELECT room_id FROM chat.rooms WHERE external_ref = %s", (external_ref,)).fetchone()
    return None if row is None else row[0]


def role_of(conn: psycopg.Connection, room_id: str, user_id: str) -> str | None:
    """The user's role in the room while a member; None when not (or no longer) one."""
    row = conn.execute(
        "SELECT role FROM chat.memberships WHERE room_id = %s AND user_id = %s AND active", (room_id, user_id)
    ).fetchone()
    return None if row is None else row[0]


def set_membership(conn: psycopg.Connection, room_id: str, user_id: str, role: str, active: bool, actor: str) -> int:
    """Insert or change the membership; returns the row's version."""
    (version,) = conn.execute(
        """INSERT INTO chat.memberships (room_id, user_id, role, active, created_by, updated_by)
        VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (room_id, user_id) DO UPDATE
        SET role = EXCLUDED.role, active = EXCLUDED.active, updated_by = EXCLUDED.updated_by RETURNING version""",
        (room_id, user_id, role, active, actor, actor),
    ).fetchone()
    return version


def blocked_by(conn: psycopg.Connection, room_id: str, author_id: str) -> list[str]:
    """Members of the room who blocked ``author_id`` (their profile's blocked users name them)."""
    rows = conn.execute(
        """SELECT m.user_id FROM chat.memberships m JOIN chat.users u USING (user_id)
        WHERE m.room_id = %s AND m.active AND u.profile -> 'blocked_users' ? %s""",
        (room_id, author_id),
    ).fetchall()
    return [row[0] for row in rows]


def insert_message(conn: psycopg.Connection, message: Message, actor: str) -> None:
    conn.execute(
        """INSERT INTO chat.messages (message_id, room_id, author_id, day, body, sent_at, created_by, updated_by)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
        (message.message_id, message.room_id, message.author_id, message.day, message.body, message.sent_at)
        + (actor, actor),
    )


def find_message(conn: psycopg.Connection, message_id: str, lock: bool = False) -> Message | None:
    query = """SELECT message_id, room_id, author_id, day, body, sent_at, deleted_at IS NOT NULL, version
    FROM chat.messages WHERE message_id = %s""" + (" FOR UPDATE" if lock else "")
    row = conn.execute(query, (message_id,)).fetchone()
    return None if row is None else Message(*row)


def edit_message(conn: psycopg.Connection, message_id: uuid.UUID, body: str, at: datetime, actor: str) -> int:
    (version,) = conn.execute(
        "UPDATE chat.messages SET body = %s, edited_at = %s, updated_by = %s WHERE message_id = %s RETURNING version",
        (body, at, actor, message_id),
    ).fetchone()
    return version


def delete_message(conn: psycopg.Connection, message_id: uuid.UUID, by: str, at: datetime, actor: str) -> int:
    """Tombstone: the row stays (its id, room and author), its text is emptied."""
    (version,) = conn.execute(
        """UPDATE chat.messages SET body = '', deleted_at = %s, deleted_by = %s, updated_by = %s
        WHERE message_id = %s RETURNING version""",
        (at, by, actor, message_id),
    ).fetchone()
    return version


def applied_command(conn: psycopg.Connection, command_id: str) -> AppliedCommand | None:
    row = conn.execute(
        "SELECT command_fingerprint, resource_id, resource_version FROM chat.commands WHERE command_id = %s",
        (command_id,),
    ).fetchone()
    return None if row is None else AppliedCommand(*row)


def record_command(
    conn: psycopg.Connection, command_id: str, kind: str, fingerprint: str, resource_id: str, version: int
) -> None:
    conn.execute(
        """INSERT INTO chat.commands (command_id, kind, command_fingerprint, resource_id, resource_version)
        VALUES (%s, %s, %s, %s, %s)""",
        (command_id, kind, fingerprint, resource_id, version),
    )
