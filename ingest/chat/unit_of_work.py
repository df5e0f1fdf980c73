"""What chat use cases add to the kit's unit of work: the command ledger (replays of commands that do not create
a row of their own), and the room and membership checks every command makes."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import psycopg
from pydantic import BaseModel

from ingest.chat import store
from ingest.chat.commands import is_system
from ingest.chat.context import ChatContext
from ingest.chat.contract import DOMAIN
from ingest.core import unit_of_work
from ingest.core.errors import Forbidden, NotFound
from ingest.core.idempotency import fingerprint, is_replay
from ingest.core.outbox import OutboxEvent

MODERATORS = ("moderator", "owner")


@dataclass(frozen=True)
class Accepted(unit_of_work.Accepted):
    """The kit's result; ``moderation`` says how a sent message was judged (scored, flagged, unscored, queued)."""

    moderation: str | None = None


@dataclass(frozen=True)
class Outcome:
    """A use case's result and the events it committed (applied to the read models after the commit)."""

    accepted: Accepted
    events: list[OutboxEvent] = field(default_factory=list)


def transaction(ctx: ChatContext, kind: str, command_id: str) -> AbstractContextManager[psycopg.Connection]:
    return unit_of_work.transaction(ctx.pool, DOMAIN, ctx.actor, kind, command_id)


def replayed(conn: psycopg.Connection, command: BaseModel, command_id: str, resource: str) -> Outcome | None:
    """The earlier result when ``command_id`` was applied with this content; raises when reused for other content."""
    applied = store.applied_command(conn, command_id)
    if applied is None or not is_replay(applied.fingerprint, command, f"command {command_id}"):
        return None
    return Outcome(Accepted(resource, applied.resource_id, "unchanged", applied.version))


def remember(
    conn: psycopg.Connection, command: BaseModel, command_id: str, kind: str, resource_id: str, version: int
) -> None:
    store.record_command(conn, command_id, kind, fingerprint(command), resource_id, version)


def require_room(conn: psycopg.Connection, room_id: str) -> store.Room:
    room = store.find_room(conn, room_id)
    if room is None:
        raise NotFound(f"room_id: room {room_id!r} does not exist")
    return room


def require_member(conn: psycopg.Connection, room_id: str, user_id: str, moderator: bool = False) -> str | None:
    """The user's role; Forbidden when not a member (or not a moderator/owner, when ``moderator``)."""
    if is_system(user_id):
        return "owner"
    role = store.role_of(conn, room_id, user_id)
    if role is None:
        raise Forbidden(f"user {user_id!r} is not a member of room {room_id!r}")
    if moderator and role not in MODERATORS:
        raise Forbidden(f"user {user_id!r} is a {role} of room {room_id!r}, not a moderator or owner")
    return role


def require_users(conn: psycopg.Connection, user_ids: list[str]) -> None:
    missing = sorted(set(user_ids) - store.existing_users(conn, user_ids) - {"system"})
    if missing:
        raise NotFound(f"user_id: user(s) {', '.join(map(repr, missing))} not registered")
