"""What social acts on from other domains, through the kit's NATS notifications: a chat message flagged by
moderation counts as a flag against its author, which may lower their trust level here (`trust.py`).

Social's own flagged posts and comments are counted where they are decided (`moderation.py`, in the same
transaction), so they need no subscription; a flag counts once per content whichever path reports it. Payloads are
read as plain dicts: social never imports chat's code, only agrees on the event's fields.
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from ingest.core.envelope import EventEnvelope
from ingest.core.notifications import PoisonMessage, Subscription
from ingest.social.trust_changes import count_flag

CHAT_MESSAGE_FLAGGED = "chat.message.flagged"


def flag_time(envelope: EventEnvelope) -> datetime:
    raw = envelope.payload.get("flagged_at") or envelope.occurred_at
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise PoisonMessage(f"flagged_at: {raw!r} is not an ISO 8601 time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def on_chat_message_flagged(conn: psycopg.Connection, envelope: EventEnvelope) -> None:
    author = envelope.payload.get("author_id")
    if not isinstance(author, str) or not author:
        raise PoisonMessage("payload.author_id: missing; cannot tell whose trust a flag concerns")
    content = envelope.payload.get("message_id") or envelope.key or envelope.event_id
    count_flag(conn, author, f"chat:message:{content}", flag_time(envelope))


SUBSCRIPTIONS: tuple[Subscription, ...] = (Subscription(CHAT_MESSAGE_FLAGGED, on_chat_message_flagged),)
