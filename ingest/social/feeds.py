"""Home feeds and reactions in Cassandra, written by the outbox relay (fan-out on write), read by the app.

Fan-out: when a post becomes visible (``post.created`` as published, or ``post.moderated`` releasing a held post)
the relay writes one entry to each current follower's feed and to the author's own, in the partition
(follower, UTC day of the post), after Kafka acknowledged the event and before the outbox row is marked sent. A
crash in between re-projects the same event: the entry id is derived from the post (`feed_keys.entry_id`), so the
same cells are rewritten and no entry is duplicated or lost. Following someone later does not backfill their past
posts, and unfollowing leaves entries already delivered (the usual trade of fan-out on write).

Reactions are one row per (post, kind, user), not counters: a counter increment retried after a timeout would
count twice, a row written twice is still one row. Counts are a ``GROUP BY kind`` over the post's partition.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from cassandra.cluster import Session

from ingest.core.cassandra import open_session
from ingest.social.feed_keys import Cursor, day_of, entry_id
from lakehouse.settings import Settings

INSERT_ENTRY = "INSERT INTO social_home_feed (user_id, day, entry_id, post_id, author_id) VALUES (?, ?, ?, ?, ?)"
INSERT_DAY = "INSERT INTO social_feed_days (user_id, day) VALUES (?, ?)"
SELECT_DAYS = "SELECT day FROM social_feed_days WHERE user_id = ? AND day <= ?"
SELECT_ENTRIES = "SELECT entry_id, post_id, author_id FROM social_home_feed WHERE user_id = ? AND day = ? LIMIT ?"
SELECT_OLDER = (
    "SELECT entry_id, post_id, author_id FROM social_home_feed WHERE user_id = ? AND day = ? AND entry_id < ? LIMIT ?"
)
INSERT_REACTION = "INSERT INTO social_post_reactions (post_id, kind, user_id, reacted_at) VALUES (?, ?, ?, ?)"
COUNT_REACTIONS = "SELECT kind, count(*) AS n FROM social_post_reactions WHERE post_id = ? GROUP BY kind"
LAST_DAY = "9999-12-31"

Followers = Callable[[str], list[str]]


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def fan_out_target(envelope: dict[str, Any]) -> tuple[str, str, datetime] | None:
    """(post_id, author_id, created_at) when this event makes a post visible in feeds, else None."""
    p = envelope["payload"]
    if envelope["type"] == "social.post.created" and p["status"] == "published":
        return p["post_id"], p["author_id"], _time(p["created_at"])
    if envelope["type"] == "social.post.moderated" and (p["previous_status"], p["status"]) == ("held", "published"):
        return p["post_id"], p["author_id"], _time(p["created_at"])
    return None


class SocialViews:
    """Feeds and reactions over one Cassandra session; statements prepared once."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._s = {name: session.prepare(text) for name, text in _STATEMENTS.items()}

    def _run_all(self, writes: list[tuple[str, tuple[Any, ...]]]) -> None:
        futures = [self._session.execute_async(self._s[name], row) for name, row in writes]
        for future in futures:
            future.result()

    def fan_out(self, post_id: str, author_id: str, created_at: datetime, readers: list[str]) -> int:
        day, entry = day_of(created_at), entry_id(post_id, created_at)
        writes = []
        for reader in dict.fromkeys([author_id, *readers]):
            writes += [("entry", (reader, day, entry, post_id, author_id)), ("day", (reader, day))]
        self._run_all(writes)
        return len(writes) // 2

    def add_reactions(self, reactions: list[tuple[str, str, str, datetime]]) -> None:
        self._run_all([("reaction", row) for row in reactions])

    def page(self, user_id: str, limit: int, cursor: Cursor | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``limit`` entries, newest first, and the cursor of the next page (None at the end)."""
        entries: list[dict[str, Any]] = []
        days = [
            row.day for row in self._session.execute(self._s["days"], (user_id, cursor.day if cursor else LAST_DAY))
        ]
        for day in days:
            want = limit - len(entries)
            if cursor is not None and day == cursor.day:
                rows = self._session.execute(self._s["older"], (user_id, day, cursor.after, want))
            else:
                rows = self._session.execute(self._s["entries"], (user_id, day, want))
            entries += [{"day": day, **row._asdict()} for row in rows]
            if len(entries) >= limit:
                last = entries[-1]
                return entries, Cursor(last["day"], last["entry_id"]).encode()
        return entries, None

    def reaction_counts(self, post_id: str) -> dict[str, int]:
        return {row.kind: row.n for row in self._session.execute(self._s["count"], (post_id,))}


_STATEMENTS = {
    "entry": INSERT_ENTRY,
    "day": INSERT_DAY,
    "days": SELECT_DAYS,
    "entries": SELECT_ENTRIES,
    "older": SELECT_OLDER,
    "reaction": INSERT_REACTION,
    "count": COUNT_REACTIONS,
}


def project(views: SocialViews, followers: Followers, envelope_texts: list[str]) -> int:
    """The relay's projection: fan out posts that became visible, store reactions; returns feed entries written."""
    written, reactions = 0, []
    for text in envelope_texts:
        envelope = json.loads(text)
        if envelope["type"] == "social.reaction.added":
            p = envelope["payload"]
            reactions.append((p["post_id"], p["kind"], p["user_id"], _time(p["reacted_at"])))
        elif (target := fan_out_target(envelope)) is not None:
            post_id, author_id, created_at = target
            written += views.fan_out(post_id, author_id, created_at, followers(author_id))
    views.add_reactions(reactions)
    return written


@contextmanager
def open_views(settings: Settings) -> Iterator[SocialViews]:
    with open_session(settings) as session:
        yield SocialViews(session)
