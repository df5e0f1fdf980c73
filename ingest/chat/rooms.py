"""Users, profiles, rooms and memberships: the chat use cases that decide who may talk where.

Each runs in one PostgreSQL transaction with its audit rows and its outbox events. Registration and room creation
are idempotent by the user and room id, joins, leaves and profile changes by their command id. Joining yourself is
open for group rooms; adding someone else, or giving a role above member, takes a moderator or owner; so does
removing someone. A support room is tied to one outside reference (``ecommerce:<customer_id>``): at most one each.
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from ingest.chat import contract as ev
from ingest.chat import store
from ingest.chat.commands import CreateRoom, JoinRoom, LeaveRoom, RegisterUser, UpdateProfile
from ingest.chat.context import ChatContext
from ingest.chat.unit_of_work import (
    Accepted,
    Outcome,
    remember,
    replayed,
    require_member,
    require_room,
    require_users,
    transaction,
)
from ingest.core import outbox, unit_of_work
from ingest.core.errors import Conflict, Forbidden
from ingest.core.idempotency import as_utc, fingerprint


def register_user(command: RegisterUser, ctx: ChatContext) -> Outcome:
    with transaction(ctx, "user", command.user_id) as conn:
        earlier = unit_of_work.replayed(conn, ev.DOMAIN, "users", "user_id", command, "user", Accepted)
        if earlier is not None:
            return Outcome(earlier)
        row = command.model_dump() | {"registered_at": as_utc(command.registered_at)}
        store.insert_user(conn, row, fingerprint(command), ctx.actor)
        event = ev.build_event(ev.USER_REGISTERED, command.user_id, ev.UserRegisteredV1(**row), row["registered_at"])
        event_ids = outbox.append(conn, ev.DOMAIN, [event])
    return Outcome(Accepted("user", command.user_id, "created", 1, event_ids), [event])


def update_profile(command: UpdateProfile, ctx: ChatContext) -> Outcome:
    with transaction(ctx, "profile", command.command_id) as conn:
        if (earlier := replayed(conn, command, command.command_id, "profile")) is not None:
            return earlier
        profile = command.model_dump(include={"avatar_url", "preferences", "blocked_users"})
        version = store.update_profile(conn, command.user_id, command.display_name, profile, ctx.actor)
        if version is None:
            require_users(conn, [command.user_id])
        now = datetime.now(UTC)
        payload = ev.ProfileUpdatedV1(
            **command.model_dump(exclude={"command_id"}), profile_version=version, updated_at=now
        )
        event = ev.build_event(ev.PROFILE_UPDATED, command.user_id, payload, now)
        event_ids = outbox.append(conn, ev.DOMAIN, [event])
        remember(conn, command, command.command_id, "profile", command.user_id, version)
    return Outcome(Accepted("profile", command.user_id, "updated", version, event_ids), [event])


def create_room(command: CreateRoom, ctx: ChatContext) -> Outcome:
    with transaction(ctx, "room", command.room_id) as conn:
        earlier = unit_of_work.replayed(conn, ev.DOMAIN, "rooms", "room_id", command, "room", Accepted)
        if earlier is not None:
            return Outcome(earlier)
        members = [m for m in dict.fromkeys(command.members) if m != command.owner_id]
        require_users(conn, [command.owner_id, *members])
        if command.external_ref and (taken := store.room_by_external_ref(conn, command.external_ref)):
            raise Conflict(f"external_ref: {command.external_ref!r} already has room {taken!r}")
        if command.kind == "direct" and len(members) > 1:
            raise Conflict("members: a direct room is between its owner and at most one other user")
        at = as_utc(command.created_at)
        row = command.model_dump(exclude={"owner_id", "members"}) | {"created_at": at}
        store.insert_room(conn, row, fingerprint(command), ctx.actor)
        created = ev.RoomCreatedV1(**row, created_by=command.owner_id)
        events = [ev.build_event(ev.ROOM_CREATED, command.room_id, created, at)]
        for user_id, role in [(command.owner_id, "owner"), *((m, "member") for m in members)]:
            store.set_membership(conn, command.room_id, user_id, role, True, ctx.actor)
            events.append(_membership_event(command.room_id, user_id, role, True, command.owner_id, at))
        event_ids = outbox.append(conn, ev.DOMAIN, events)
    return Outcome(Accepted("room", command.room_id, "created", 1, event_ids), events)


def join_room(command: JoinRoom, ctx: ChatContext) -> Outcome:
    with transaction(ctx, "membership", command.command_id) as conn:
        if (earlier := replayed(conn, command, command.command_id, "membership")) is not None:
            return earlier
        room = require_room(conn, command.room_id)
        require_users(conn, [command.user_id])
        by_someone_else = command.actor_id != command.user_id
        if by_someone_else or command.role != "member" or room.kind != "group":
            require_member(conn, room.room_id, command.actor_id, moderator=True)
        return _change(ctx, conn, command, command.role, True)


def leave_room(command: LeaveRoom, ctx: ChatContext) -> Outcome:
    with transaction(ctx, "membership", command.command_id) as conn:
        if (earlier := replayed(conn, command, command.command_id, "membership")) is not None:
            return earlier
        room = require_room(conn, command.room_id)
        role = store.role_of(conn, room.room_id, command.user_id)
        if role is None:
            raise Forbidden(f"user {command.user_id!r} is not a member of room {room.room_id!r}")
        if command.actor_id != command.user_id:
            require_member(conn, room.room_id, command.actor_id, moderator=True)
        return _change(ctx, conn, command, role, False)


def _change(
    ctx: ChatContext, conn: psycopg.Connection, command: JoinRoom | LeaveRoom, role: str, active: bool
) -> Outcome:
    at = as_utc(command.at)
    version = store.set_membership(conn, command.room_id, command.user_id, role, active, ctx.actor)
    event = _membership_event(command.room_id, command.user_id, role, active, command.actor_id, at)
    event_ids = outbox.append(conn, ev.DOMAIN, [event])
    resource_id = f"{command.room_id}/{command.user_id}"
    remember(conn, command, command.command_id, "membership", resource_id, version)
    outcome = "created" if version == 1 else "updated"
    return Outcome(Accepted("membership", resource_id, outcome, version, event_ids), [event])


def _membership_event(room_id: str, user_id: str, role: str, active: bool, by: str, at: datetime) -> outbox.OutboxEvent:
    payload = ev.MembershipChangedV1(
        room_id=room_id, user_id=user_id, role=role, active=active, changed_by=by, changed_at=at
    )
    return ev.build_event(ev.MEMBERSHIP_CHANGED, room_id, payload, at)
