"""`handle`: the one entry for every chat command, used by the HTTP app, the generator, the importer and the
notification consumers alike.

It runs the command's use case (one PostgreSQL transaction), then, after the commit, writes the read models from
the committed events (Cassandra messages, MongoDB profiles: the same idempotent writes the relay repeats) and asks
the sentiment service about a new or edited message. A failure after the commit never undoes the command.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any

from ingest.chat import contract as ev
from ingest.chat.commands import (
    Command,
    CreateRoom,
    DeleteMessage,
    EditMessage,
    JoinRoom,
    LeaveRoom,
    RegisterUser,
    ReviewMessage,
    SendMessage,
    UpdateProfile,
)
from ingest.chat.context import ChatContext
from ingest.chat.messaging import delete_message, edit_message, review_message, send_message
from ingest.chat.moderation_record import moderate_sent
from ingest.chat.rooms import create_room, join_room, leave_room, register_user, update_profile
from ingest.chat.unit_of_work import Accepted, Outcome
from ingest.core.errors import InvalidCommand

log = logging.getLogger(__name__)

USE_CASES: dict[type[Command], Callable[[Any, ChatContext], Outcome]] = {
    RegisterUser: register_user,
    UpdateProfile: update_profile,
    CreateRoom: create_room,
    JoinRoom: join_room,
    LeaveRoom: leave_room,
    SendMessage: send_message,
    EditMessage: edit_message,
    DeleteMessage: delete_message,
    ReviewMessage: review_message,
}
MODERATED_ON = (ev.MESSAGE_SENT[0], ev.MESSAGE_EDITED[0])


def handle(command: Command, ctx: ChatContext) -> Accepted:
    """Run ``command``; raises NotFound, Forbidden, Conflict (incl. IdempotencyConflict) or InvalidCommand."""
    use_case = USE_CASES.get(type(command))
    if use_case is None:
        raise InvalidCommand(f"no use case handles {type(command).__name__}")
    outcome = use_case(command, ctx)
    project_committed(ctx, outcome)
    return replace(outcome.accepted, moderation=moderate_committed(ctx, outcome))


def project_committed(ctx: ChatContext, outcome: Outcome) -> None:
    """The read models of the committed events, now; the relay writes them again if this fails."""
    envelopes = [asdict(event.envelope) for event in outcome.events]
    try:
        ctx.views.apply(envelopes)
        ctx.profiles.apply(envelopes)
    except Exception:  # noqa: BLE001 - committed already: the relay's projection repairs what failed here
        log.exception("read model write after commit failed; the relay will repeat it")


def moderate_committed(ctx: ChatContext, outcome: Outcome) -> str | None:
    verdict = None
    for event in outcome.events:
        payload = event.envelope.payload
        if event.envelope.type in MODERATED_ON and payload["author_id"] != ev.SYSTEM_AUTHOR:
            verdict = moderate_sent(ctx, payload["message_id"], payload["author_id"], payload["text"])
    return verdict
