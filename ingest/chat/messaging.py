"""Messages: send, edit (author only), delete (a tombstone; author or a room moderator) and review (a moderator's
label and decision), each idempotent by its command id.

Sending fixes the message's timeuuid before the transaction, stores the message row, queues it for moderation and
appends ``chat.message.sent`` to the outbox, all in one commit. The Cassandra rows are written after the commit
(by `service.handle`) and again by the relay's projection, so a crash in between loses nothing.
"""

from __future__ import annotations

from datetime import datetime

import psycopg

from ingest.chat import contract as ev
from ingest.chat import store
from ingest.chat.buckets import day_of, mentioned, message_id_at
from ingest.chat.commands import Command, DeleteMessage, EditMessage, ReviewMessage, SendMessage, is_system
from ingest.chat.context import ChatContext
from ingest.chat.unit_of_work import Accepted, Outcome, remember, replayed, require_member, require_room, transaction
from ingest.core import moderation, outbox
from ingest.core.contract import EventPayload
from ingest.core.errors import Conflict, Forbidden, NotFound
from ingest.core.idempotency import as_utc

CONTENT_KIND = "message"


def send_message(command: SendMessage, ctx: ChatContext) -> Outcome:
    with transaction(ctx, "message", command.command_id) as conn:
        if (earlier := replayed(conn, command, command.command_id, "message")) is not None:
            return earlier
        room = require_room(conn, command.room_id)
        require_member(conn, room.room_id, command.author_id)
        if room.kind == "direct" and (blockers := store.blocked_by(conn, room.room_id, command.author_id)):
            raise Forbidden(f"user {command.author_id!r} is blocked by {', '.join(map(repr, blockers))} in this room")
        event = post_message(conn, ctx.actor, room.room_id, command.author_id, command.text, as_utc(command.sent_at))
        event_ids = outbox.append(conn, ev.DOMAIN, [event])
        message_id = event.envelope.payload["message_id"]
        remember(conn, command, command.command_id, "message", message_id, 1)
    return Outcome(Accepted("message", message_id, "created", 1, event_ids), [event])


def post_message(
    conn: psycopg.Connection, actor: str, room_id: str, author_id: str, text: str, sent_at: datetime
) -> outbox.OutboxEvent:
    """Store a message (rules already checked) and queue it for moderation; returns its sent event, to append.

    Also the path of system messages (the notification consumers), which are not moderated.
    """
    message_id, day = message_id_at(sent_at), day_of(sent_at)
    mentions = sorted(store.existing_users(conn, mentioned(text)) - {author_id})
    row = (message_id, room_id, author_id, sent_at.date(), text, sent_at, False, 1)
    store.insert_message(conn, store.Message(*row), actor)
    if not is_system(author_id):
        item = moderation.item(ev.DOMAIN, CONTENT_KIND, str(message_id), author_id, text)
        moderation.enqueue(conn, ev.DOMAIN, [item])
    payload = ev.MessageSentV1(
        message_id=str(message_id),
        room_id=room_id,
        day=day,
        author_id=author_id,
        text=text,
        mentions=mentions,
        sent_at=sent_at,
    )
    return ev.build_event(ev.MESSAGE_SENT, room_id, payload, sent_at)


def edit_message(command: EditMessage, ctx: ChatContext) -> Outcome:
    with transaction(ctx, "message", command.command_id) as conn:
        if (earlier := replayed(conn, command, command.command_id, "message")) is not None:
            return earlier
        message = _live_message(conn, command.room_id, command.message_id, command.author_id)
        if message.author_id != command.author_id:
            raise Forbidden(f"only its author may edit message {command.message_id!r}")
        at = _after(message, command.at)
        version = store.edit_message(conn, message.message_id, command.text, at, ctx.actor)
        item = moderation.item(ev.DOMAIN, CONTENT_KIND, command.message_id, message.author_id, command.text)
        moderation.enqueue(conn, ev.DOMAIN, [item])
        payload = ev.MessageEditedV1(
            message_id=command.message_id,
            room_id=message.room_id,
            day=message.day.isoformat(),
            author_id=message.author_id,
            text=command.text,
            edited_at=at,
        )
        return _commit(conn, command, command.command_id, message, version, ev.MESSAGE_EDITED, payload, at)


def delete_message(command: DeleteMessage, ctx: ChatContext) -> Outcome:
    with transaction(ctx, "message", command.command_id) as conn:
        if (earlier := replayed(conn, command, command.command_id, "message")) is not None:
            return earlier
        message = _live_message(conn, command.room_id, command.message_id, command.actor_id)
        if message.author_id != command.actor_id:
            require_member(conn, message.room_id, command.actor_id, moderator=True)
        at = _after(message, command.at)
        version = store.delete_message(conn, message.message_id, command.actor_id, at, ctx.actor)
        payload = _deleted(message, command.actor_id, at)
        return _commit(conn, command, command.command_id, message, version, ev.MESSAGE_DELETED, payload, at)


def review_message(command: ReviewMessage, ctx: ChatContext) -> Outcome:
    with transaction(ctx, "review", command.command_id) as conn:
        if (earlier := replayed(conn, command, command.command_id, "review")) is not None:
            return earlier
        message = _message(conn, command.room_id, command.message_id, command.reviewer_id)
        require_member(conn, message.room_id, command.reviewer_id, moderator=True)
        at = _after(message, command.at)
        review = ev.MessageReviewedV1(
            message_id=command.message_id,
            room_id=message.room_id,
            author_id=message.author_id,
            reviewer_id=command.reviewer_id,
            label=command.label,
            decision=command.decision,
            text=message.body,
            reviewed_at=at,
        )
        events = [ev.build_event(ev.MESSAGE_REVIEWED, message.room_id, review, at)]
        version = message.version
        if command.decision == "remove" and not message.deleted:
            version = store.delete_message(conn, message.message_id, command.reviewer_id, at, ctx.actor)
            deleted = _deleted(message, command.reviewer_id, at)
            events.append(ev.build_event(ev.MESSAGE_DELETED, message.room_id, deleted, at))
        event_ids = outbox.append(conn, ev.DOMAIN, events)
        remember(conn, command, command.command_id, "review", command.message_id, version)
    return Outcome(Accepted("message", command.message_id, "updated", version, event_ids), events)


def _message(conn: psycopg.Connection, room_id: str, message_id: str, actor_id: str) -> store.Message:
    """The message (locked until commit); 404 for another room's message, 403 for a non-member."""
    require_room(conn, room_id)
    message = store.find_message(conn, message_id, lock=True)
    if message is None or message.room_id != room_id:
        raise NotFound(f"message_id: message {message_id!r} is not in room {room_id!r}")
    require_member(conn, room_id, actor_id)
    return message


def _live_message(conn: psycopg.Connection, room_id: str, message_id: str, actor_id: str) -> store.Message:
    message = _message(conn, room_id, message_id, actor_id)
    if message.deleted:
        raise Conflict(f"message {message_id!r} was deleted")
    return message


def _after(message: store.Message, at: datetime | None) -> datetime:
    """When a change happens: never before the message itself (its Cassandra write must win over the send's)."""
    moment = as_utc(at)
    if moment <= message.sent_at:
        raise Conflict(f"at: a change of message {message.message_id} cannot precede its sending ({message.sent_at})")
    return moment


def _deleted(message: store.Message, by: str, at: datetime) -> ev.MessageDeletedV1:
    return ev.MessageDeletedV1(
        message_id=str(message.message_id),
        room_id=message.room_id,
        day=message.day.isoformat(),
        deleted_by=by,
        deleted_at=at,
    )


def _commit(
    conn: psycopg.Connection,
    command: Command,
    command_id: str,
    message: store.Message,
    version: int,
    kind: tuple[str, int],
    payload: EventPayload,
    at: datetime,
) -> Outcome:
    event = ev.build_event(kind, message.room_id, payload, at)
    event_ids = outbox.append(conn, ev.DOMAIN, [event])
    remember(conn, command, command_id, "message", str(message.message_id), version)
    return Outcome(Accepted("message", str(message.message_id), "updated", version, event_ids), [event])
