"""Recording the sentiment service's decisions on posts and comments: the social part of the kit's moderation
(`ingest/core/moderation.py` stores the decision row and dequeues; this updates the content and emits events).

A post's status follows its decision: held (restricted author) and not flagged → published (and fanned out then);
held and flagged → rejected; published and flagged → flagged (kept, marked); anything a moderator decided stays.
A flag also counts against the author's trust level (`trust_changes.py`), in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import psycopg
from psycopg_pool import ConnectionPool

from ingest.core import moderation
from ingest.core.outbox import OutboxEvent
from ingest.social import stores
from ingest.social.contract import (
    COMMENT_FLAGGED,
    COMMENT_MODERATED,
    DOMAIN,
    POST_FLAGGED,
    POST_MODERATED,
    FlaggedV1,
    ModeratedV1,
)
from ingest.social.events import emit
from ingest.social.trust_changes import count_flag
from lakehouse.settings import Settings
from serving.sentiment.contract import ModerationDecision, ModerationItem

ACTOR = "moderation"


def status_after(status: str, flagged: bool) -> str:
    if status == "held":
        return "rejected" if flagged else "published"
    if status == "published" and flagged:
        return "flagged"
    return status


def record(conn: psycopg.Connection, decision: ModerationDecision) -> None:
    """The kit's ``record`` callback: update the post or comment, append its moderated (and flagged) events."""
    if decision.content_kind == "post":
        record_post(conn, decision)
    elif decision.content_kind == "comment":
        record_comment(conn, decision)
    else:
        raise ValueError(f"social has no content kind {decision.content_kind!r}")


def record_post(conn: psycopg.Connection, decision: ModerationDecision) -> list[OutboxEvent]:
    post_id = decision.content_id
    _, before = stores.require_post(conn, post_id, lock=True)
    after = status_after(before, decision.flagged)
    stores.set_post_status(conn, post_id, after, ACTOR)
    (created_at,) = conn.execute("SELECT posted_at FROM social.posts WHERE post_id = %s", (post_id,)).fetchone()
    return _emit(conn, decision, (post_id, created_at), POST_MODERATED, POST_FLAGGED, (after, before))


def record_comment(conn: psycopg.Connection, decision: ModerationDecision) -> list[OutboxEvent]:
    row = conn.execute(
        "UPDATE social.comments SET flagged = %s, updated_by = %s WHERE comment_id = %s"
        " RETURNING post_id, commented_at",
        (decision.flagged, ACTOR, decision.content_id),
    ).fetchone()
    if row is None:
        raise ValueError(f"comment {decision.content_id!r} was moderated but does not exist")
    status = "flagged" if decision.flagged else "visible"
    return _emit(conn, decision, (row[0], row[1]), COMMENT_MODERATED, COMMENT_FLAGGED, (status, "unscored"))


def _emit(
    conn: psycopg.Connection,
    decision: ModerationDecision,
    post: tuple[str, datetime],
    moderated: tuple[str, int],
    flagged: tuple[str, int],
    statuses: tuple[str, str],
) -> list[OutboxEvent]:
    """The moderated event (+ flagged, + a trust change) of content in ``post`` (id, content creation time)."""
    now, (post_id, created_at), (status, previous) = datetime.now(UTC), post, statuses
    common = {"content_id": decision.content_id, "post_id": post_id, "author_id": decision.author_id}
    payload = ModeratedV1(
        **common,
        label=decision.label,
        score=decision.score,
        flagged=decision.flagged,
        reason=decision.reason,
        model_version=decision.model_version,
        status=status,
        previous_status=previous,
        created_at=created_at,
        moderated_at=now,
    )
    events = [emit(conn, moderated, post_id, payload, now)]
    if decision.flagged:
        flag = FlaggedV1(**common, score=decision.score, reason=decision.reason, flagged_at=now)
        events.append(emit(conn, flagged, post_id, flag, now))
        flag_key = f"{DOMAIN}:{decision.content_kind}:{decision.content_id}"
        events += count_flag(conn, decision.author_id, flag_key, now)
    return events


def moderate_now(
    settings: Settings, pool: ConnectionPool, items: list[ModerationItem], client: httpx.Client | None = None
) -> list[ModerationDecision] | None:
    """Ask the service right after commit; None when it gave no answer (the content stays accepted, unscored)."""
    return moderation.moderate_after_commit(settings, pool, DOMAIN, items, record, client)


def moderate_pending(settings: Settings, pool: ConnectionPool, limit: int = 500) -> int:
    """Decide what the service could not decide before; returns how many (raises if the service is still down)."""
    return moderation.moderate_pending(settings, pool, DOMAIN, record, limit)
