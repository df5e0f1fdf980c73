"""The online copy of each author's last day of moderation decisions: one Redis hash per (domain, author).

A hash holds one field per decided piece of content (``<content_kind>:<content_id>`` -> ``decided_at|label|flagged``)
and ``as_of``: when the hash was last rebuilt from PostgreSQL (or started empty for a new author). Deciding the same
content again overwrites its field, so re-moderation never double-counts. The service adds each decision as it
makes it; a hash whose ``as_of`` is older than the allowed age is stale and rebuilt from the durable record, which
bounds how long a missed write (a Redis hiccup) can skew the numbers. Keys expire a window after their last write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from redis import Redis

from features.moderation.history import WINDOW_S, PastDecision

AUTHOR_KEY = "features:moderation:{domain}:author:{author_id}"
AS_OF_FIELD = "as_of"

Freshness = Literal["fresh", "stale", "missing"]


@dataclass(frozen=True)
class OnlineHistory:
    status: Freshness
    decisions: list[PastDecision] = field(default_factory=list)
    as_of: datetime | None = None


def author_key(domain: str, author_id: str) -> str:
    return AUTHOR_KEY.format(domain=domain, author_id=author_id)


def encode(decision: PastDecision) -> str:
    return f"{decision.decided_at!r}|{decision.label}|{int(decision.flagged)}"


def decode(content_key: str, value: str) -> PastDecision:
    decided_at, label, flagged = value.split("|")
    return PastDecision(content_key, float(decided_at), int(label), flagged == "1")


def read_histories(
    redis_client: Redis, domain: str, author_ids: Sequence[str], now: datetime, max_age_s: float
) -> dict[str, OnlineHistory]:
    """Each author's online history in one round trip: fresh, stale (rebuilt longer than ``max_age_s`` ago), missing."""
    pipe = redis_client.pipeline(transaction=False)
    for author_id in author_ids:
        pipe.hgetall(author_key(domain, author_id))
    stored = pipe.execute()
    return {author: parse_history(found, now, max_age_s) for author, found in zip(author_ids, stored, strict=True)}


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def parse_history(stored: Mapping, now: datetime, max_age_s: float) -> OnlineHistory:
    fields = {_text(k): _text(v) for k, v in stored.items()}
    try:
        as_of = datetime.fromisoformat(fields.pop(AS_OF_FIELD))
        decisions = [decode(key, value) for key, value in fields.items()]
    except (KeyError, ValueError):  # absent, half-written or garbled: as good as none, the fallback rebuilds it
        return OnlineHistory("missing")
    as_of = as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of
    status: Freshness = "stale" if (now - as_of).total_seconds() > max_age_s else "fresh"
    return OnlineHistory(status, decisions, as_of)


def rebuild_histories(
    redis_client: Redis, domain: str, histories: Mapping[str, Iterable[PastDecision]], as_of: datetime
) -> None:
    """Replace each author's hash with their decisions (recomputed from PostgreSQL), stamped ``as_of``; one round
    trip for all of them."""
    stamp = as_of.astimezone(UTC).isoformat()
    pipe = redis_client.pipeline(transaction=True)  # readers never see a hash deleted but not yet refilled
    for author_id, decisions in histories.items():
        key = author_key(domain, author_id)
        pipe.delete(key)
        pipe.hset(key, mapping={d.content_key: encode(d) for d in decisions} | {AS_OF_FIELD: stamp})
        pipe.expire(key, WINDOW_S)
    pipe.execute()


def rebuild_history(
    redis_client: Redis, domain: str, author_id: str, decisions: Iterable[PastDecision], as_of: datetime
) -> None:
    """``rebuild_histories`` for one author."""
    rebuild_histories(redis_client, domain, {author_id: decisions}, as_of)


def add_decisions(
    redis_client: Redis,
    domain: str,
    decided: Mapping[str, Sequence[PastDecision]],
    expired: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Add each author's new decisions (replacing earlier ones on the same content) and drop ``expired`` fields.

    A hash that vanished meanwhile comes back without ``as_of``: it reads as missing and is rebuilt, never trusted.
    """
    pipe = redis_client.pipeline(transaction=False)
    for author_id, decisions in decided.items():
        key = author_key(domain, author_id)
        pipe.hset(key, mapping={d.content_key: encode(d) for d in decisions})
        if expired and expired.get(author_id):
            pipe.hdel(key, *expired[author_id])
        pipe.expire(key, WINDOW_S)
    pipe.execute()
