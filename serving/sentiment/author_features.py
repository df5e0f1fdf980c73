"""The authors' recent histories a moderation request needs: Redis first, PostgreSQL for any author whose online
history is missing or stale (and Redis is rebuilt from what PostgreSQL said), and the new decisions written back.

A Redis outage is treated like a miss: moderation degrades to the PostgreSQL fallback, it does not fail.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from psycopg_pool import ConnectionPool
from redis import Redis, RedisError

from features.moderation.fallback import histories_from_postgres
from features.moderation.history import PastDecision, within_window
from features.moderation.online import OnlineHistory, add_decisions, read_histories, rebuild_histories
from serving.sentiment.contract import FeaturesSource

log = logging.getLogger(__name__)


@dataclass
class AuthorHistory:
    decisions: list[PastDecision]
    source: FeaturesSource
    expired: list[str]  # content keys past the window, to drop from Redis


def _read_online(
    redis_client: Redis, domain: str, authors: Sequence[str], now: datetime, max_age_s: float
) -> dict[str, OnlineHistory]:
    try:
        return read_histories(redis_client, domain, authors, now, max_age_s)
    except RedisError as error:
        log.warning("online store unavailable, reading %s authors from PostgreSQL: %s", domain, error)
        return dict.fromkeys(authors, OnlineHistory("missing"))


def _source(online: OnlineHistory, from_postgres: list[PastDecision]) -> FeaturesSource:
    if online.status == "stale":
        return "fallback:stale"
    return "fallback:missing" if from_postgres else "none"


def author_histories(
    redis_client: Redis, postgres: ConnectionPool, domain: str, authors: Sequence[str], now: datetime, max_age_s: float
) -> dict[str, AuthorHistory]:
    """Each author's decisions in the window ending at ``now``, and where they came from."""
    online = _read_online(redis_client, domain, authors, now, max_age_s)
    result: dict[str, AuthorHistory] = {}
    for author, found in online.items():
        if found.status == "fresh":
            kept = within_window(found.decisions, now)
            kept_keys = {d.content_key for d in kept}
            expired = [d.content_key for d in found.decisions if d.content_key not in kept_keys]
            result[author] = AuthorHistory(kept, "online", expired)
    missing = [author for author in authors if author not in result]
    if missing:
        with postgres.connection() as conn:
            recomputed = histories_from_postgres(conn, domain, missing, now)
        for author in missing:
            result[author] = AuthorHistory(recomputed[author], _source(online[author], recomputed[author]), [])
        _rebuild(redis_client, domain, recomputed, now)
    return result


def _rebuild(redis_client: Redis, domain: str, recomputed: dict[str, list[PastDecision]], now: datetime) -> None:
    try:
        rebuild_histories(redis_client, domain, recomputed, now)
    except RedisError as error:
        log.warning("could not rebuild %d online histories of %s: %s", len(recomputed), domain, error)


def record_decisions(
    redis_client: Redis,
    domain: str,
    decided: Mapping[str, Sequence[PastDecision]],
    histories: Mapping[str, AuthorHistory],
) -> None:
    """Add the new decisions to the authors' online histories (and drop what left the window)."""
    expired = {author: history.expired for author, history in histories.items()}
    try:
        add_decisions(redis_client, domain, decided, expired)
    except RedisError as error:
        log.warning("could not add %d authors' decisions to the online store: %s", len(decided), error)
