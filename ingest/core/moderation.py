"""Moderation of user-written content, for any domain: queue it with the content, ask the sentiment service after
commit, record the decision, and let a later pass decide what the service could not.

Content is never refused or held up because the service is down or slow: the domain has committed it already.
The order of events makes the guarantee:

1. the use case stores the content and calls ``enqueue`` in the same transaction (the content and its place in
   ``<domain>.unmoderated`` commit together, so a crash after the commit cannot leave it undecided forever);
2. after the commit, ``moderate_after_commit`` asks the service; on an answer, one transaction stores each
   decision in ``<domain>.moderation_decisions``, runs the domain's ``record`` callback (its own stores and its
   ``<domain>.<kind>.moderated`` / ``...flagged`` events, through the outbox) and removes the content from the queue;
   on any failure the queue row keeps the reason and the content stays *unscored*;
3. ``moderate_pending`` (``lakehouse <domain> moderate-pending``, the main job) drains the queue later: rows that
   failed, and rows older than a grace period (their caller crashed between steps 1 and 2).

Deciding twice is harmless: a decision replaces the earlier one for the same content (keyed upsert), and the lake
keeps the newest ``moderated`` event per content. The sentiment service is called through its wire contract only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta

import httpx
import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from ingest.core.unit_of_work import set_actor
from lakehouse.settings import Settings
from serving.sentiment.contract import (
    MAX_BATCH,
    MAX_TEXT_CHARS,
    ModerationDecision,
    ModerationItem,
    SentimentServiceError,
    moderate,
)

# The domain's part of recording a decision, inside the kit's transaction: its own stores and events.
Record = Callable[[psycopg.Connection, ModerationDecision], None]
ACTOR = "moderation"
# A queued row younger than this, that never failed, belongs to a caller that is probably still asking the service.
GRACE = timedelta(seconds=60)
# A pass over the queue sends up to MAX_BATCH texts at once: it may wait longer than an app's after-commit call.
PENDING_TIMEOUT_S = 60.0


def item(domain: str, kind: str, content_id: str, author_id: str, text: str) -> ModerationItem:
    """What the service judges of one piece of content; over-long text is judged by its beginning."""
    return ModerationItem(
        domain=domain, content_kind=kind, content_id=content_id, author_id=author_id, text=text[:MAX_TEXT_CHARS]
    )


def enqueue(conn: psycopg.Connection, domain: str, items: Iterable[ModerationItem]) -> None:
    """Queue ``items`` for moderation inside the caller's transaction (the one that stores the content)."""
    query = sql.SQL(
        """INSERT INTO {} (content_kind, content_id, author_id, text) VALUES (%s, %s, %s, %s)
        ON CONFLICT (content_kind, content_id) DO UPDATE SET author_id = EXCLUDED.author_id, text = EXCLUDED.text"""
    ).format(sql.Identifier(domain, "unmoderated"))
    rows = [(i.content_kind, i.content_id, i.author_id, i.text) for i in items]
    if rows:
        with conn.cursor() as cursor:
            cursor.executemany(query, rows)


def moderate_after_commit(
    settings: Settings,
    pool: ConnectionPool,
    domain: str,
    items: Sequence[ModerationItem],
    record: Record,
    client: httpx.Client | None = None,
) -> list[ModerationDecision] | None:
    """The service's decisions on ``items``, recorded; None when it gave none (the items stay queued, unscored)."""
    decisions: list[ModerationDecision] = []
    for start in range(0, len(items), MAX_BATCH):
        chunk = list(items[start : start + MAX_BATCH])
        try:
            answer = moderate(
                chunk,
                url=settings.sentiment_service_url,
                api_key=settings.sentiment_api_key,
                timeout_s=settings.sentiment_timeout_s,
                client=client,
            )
        except SentimentServiceError as error:
            with pool.connection() as conn, conn.transaction():
                enqueue(conn, domain, chunk)
                mark_failed(conn, domain, chunk, str(error))
            return None
        with pool.connection() as conn, conn.transaction():
            apply_decisions(conn, domain, answer.decisions, record)
        decisions += answer.decisions
    return decisions


def moderate_pending(
    settings: Settings,
    pool: ConnectionPool,
    domain: str,
    record: Record,
    limit: int = MAX_BATCH,
    client: httpx.Client | None = None,
    grace: timedelta = GRACE,
) -> int:
    """Decide up to ``limit`` queued items (failed ones, and those older than ``grace``); returns how many.

    The batch stays locked (``SKIP LOCKED``) while the service answers, so parallel passes take different rows.
    A service that still gives no answer leaves the batch queued with the new reason and raises, so a job shows red.
    """
    claim = sql.SQL(
        """SELECT content_kind, content_id, author_id, text FROM {} WHERE last_error IS NOT NULL
        OR queued_at < now() - %s ORDER BY queued_at LIMIT %s FOR UPDATE SKIP LOCKED"""
    ).format(sql.Identifier(domain, "unmoderated"))
    with pool.connection() as conn:
        with conn.transaction():
            rows = conn.execute(claim, (grace, min(limit, MAX_BATCH))).fetchall()
            if not rows:
                return 0
            items = [item(domain, kind, content_id, author, text) for kind, content_id, author, text in rows]
            try:
                answer = moderate(
                    items,
                    url=settings.sentiment_service_url,
                    api_key=settings.sentiment_api_key,
                    timeout_s=max(settings.sentiment_timeout_s, PENDING_TIMEOUT_S),
                    client=client,
                )
            except SentimentServiceError as error:
                failure = error
            else:
                apply_decisions(conn, domain, answer.decisions, record)
                return len(answer.decisions)
        # Outside the claim's transaction (it ended with the `with`): record why, then say so.
        with conn.transaction():
            mark_failed(conn, domain, items, str(failure))
        raise failure


def pending_count(pool: ConnectionPool, domain: str) -> int:
    """How much content of ``domain`` has no decision yet."""
    with pool.connection() as conn:
        (count,) = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(domain, "unmoderated"))
        ).fetchone()
    return count


def apply_decisions(
    conn: psycopg.Connection, domain: str, decisions: Iterable[ModerationDecision], record: Record
) -> None:
    """Store each decision, let the domain record it, and take the content off the queue: all in ``conn``'s
    transaction."""
    set_actor(conn, domain, ACTOR)
    upsert = sql.SQL(
        """INSERT INTO {} (content_kind, content_id, author_id, label, score, flagged, reason, model_version,
        features_source) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (content_kind, content_id) DO UPDATE SET author_id = EXCLUDED.author_id, label = EXCLUDED.label,
        score = EXCLUDED.score, flagged = EXCLUDED.flagged, reason = EXCLUDED.reason,
        model_version = EXCLUDED.model_version, features_source = EXCLUDED.features_source, decided_at = now()"""
    ).format(sql.Identifier(domain, "moderation_decisions"))
    dequeue = sql.SQL("DELETE FROM {} WHERE content_kind = %s AND content_id = %s").format(
        sql.Identifier(domain, "unmoderated")
    )
    for decision in decisions:
        if decision.domain != domain:
            raise ValueError(f"a decision for domain {decision.domain!r} reached {domain!r}")
        conn.execute(
            upsert,
            (decision.content_kind, decision.content_id, decision.author_id, decision.label, decision.score)
            + (decision.flagged, decision.reason, decision.model_version, decision.features_source),
        )
        record(conn, decision)
        conn.execute(dequeue, (decision.content_kind, decision.content_id))


def mark_failed(conn: psycopg.Connection, domain: str, items: Iterable[ModerationItem], reason: str) -> None:
    query = sql.SQL(
        "UPDATE {} SET attempts = attempts + 1, last_error = %s WHERE content_kind = %s AND content_id = %s"
    ).format(sql.Identifier(domain, "unmoderated"))
    with conn.cursor() as cursor:
        cursor.executemany(query, [(reason[:1000], i.content_kind, i.content_id) for i in items])
