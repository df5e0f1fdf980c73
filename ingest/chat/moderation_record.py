"""How chat records a moderation decision (the kit's ``record`` callback) and asks for one after a send.

Inside the kit's transaction the callback appends ``chat.message.moderated`` (and ``chat.message.flagged`` when the
service flagged the message) and sets the message's moderation columns in Cassandra; the relay writes the same
cells again from the event, so a lost Cassandra write is repaired. A message whose service call failed shows
``unscored`` until `moderate_pending` (``lakehouse chat moderate-pending``) decides it.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, datetime

import psycopg

from ingest.chat import contract as ev
from ingest.chat import store
from ingest.chat.context import ChatContext
from ingest.chat.views import MessageViews
from ingest.core import moderation, outbox
from ingest.core.moderation import Record
from serving.sentiment.contract import ModerationDecision

CONTENT_KIND = "message"
log = logging.getLogger(__name__)


def decision_events(message: store.Message, decision: ModerationDecision, at: datetime) -> list[outbox.OutboxEvent]:
    """The moderated event of a decision, and the flagged event when the service flagged the message."""
    key = {"message_id": str(message.message_id), "room_id": message.room_id, "day": message.day.isoformat()}
    moderated = ev.MessageModeratedV1(
        **key,
        author_id=message.author_id,
        label=decision.label,
        score=decision.score,
        flagged=decision.flagged,
        reason=decision.reason,
        model_version=decision.model_version,
        moderated_at=at,
    )
    events = [ev.build_event(ev.MESSAGE_MODERATED, message.room_id, moderated, at)]
    if decision.flagged:
        flagged = ev.MessageFlaggedV1(
            **key, author_id=message.author_id, score=decision.score, reason=decision.reason, flagged_at=at
        )
        events.append(ev.build_event(ev.MESSAGE_FLAGGED, message.room_id, flagged, at))
    return events


def recorder(views: MessageViews) -> Record:
    """The kit's ``record`` callback for chat messages, writing through ``views``."""

    def record(conn: psycopg.Connection, decision: ModerationDecision) -> None:
        message = store.find_message(conn, decision.content_id)
        if message is None:  # the message's transaction never committed: nothing to record on
            return
        events = decision_events(message, decision, datetime.now(UTC))
        outbox.append(conn, ev.DOMAIN, events)
        try:
            views.apply(asdict(event.envelope) for event in events)
        except Exception:  # noqa: BLE001 - the relay projects the moderated event from the outbox: no decision lost
            log.exception("Cassandra write of a moderation decision failed; the relay will repeat it")

    return record


def moderate_sent(ctx: ChatContext, message_id: str, author_id: str, text: str) -> str:
    """Ask the service about a just-committed message: 'scored', 'flagged' or 'unscored' (service unavailable)."""
    if ctx.moderation is None:
        return "queued"
    item = moderation.item(ev.DOMAIN, CONTENT_KIND, message_id, author_id, text)
    decisions = moderation.moderate_after_commit(
        ctx.settings, ctx.pool, ev.DOMAIN, [item], recorder(ctx.views), client=ctx.moderation
    )
    if decisions is None:
        return "unscored"
    return "flagged" if any(d.flagged for d in decisions) else "scored"


def moderate_pending(ctx: ChatContext, limit: int = 500) -> int:
    """Decide queued messages (the service was down or slow when they were sent); returns how many."""
    return moderation.moderate_pending(ctx.settings, ctx.pool, ev.DOMAIN, recorder(ctx.views), limit=limit)
