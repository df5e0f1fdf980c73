"""Authors' last day of moderation decisions straight from a domain's ``<domain>.moderation_decisions`` table
(created by the kit's ``lakehouse_kit.create_moderation``): what the service reads when Redis has nothing fresh.

The rows are turned into the same ``PastDecision`` values Redis holds, so ``history.author_features`` computes the
same numbers from either source. The window bound is computed in Python as an exact UTC instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import psycopg
from psycopg import sql

from features.moderation.history import WINDOW_S, PastDecision, content_key

QUERY = sql.SQL(
    "SELECT author_id, content_kind, content_id, extract(epoch FROM decided_at)::float8, label, flagged"
    " FROM {table} WHERE author_id = ANY(%(authors)s) AND decided_at > %(since)s AND decided_at <= %(now)s"
)


class UnknownDomain(LookupError):
    """The domain has no ``moderation_decisions`` table (not a domain, or its migration is missing)."""

    def __init__(self, domain: str) -> None:
        super().__init__(f"domain {domain!r} has no moderation_decisions table (is it a domain with moderation?)")
        self.domain = domain


def histories_from_postgres(
    conn: psycopg.Connection, domain: str, author_ids: Sequence[str], now: datetime, window_s: int = WINDOW_S
) -> dict[str, list[PastDecision]]:
    """Every author's decisions in ``(now - window_s, now]`` (``now`` aware), an empty list for one with none."""
    if now.tzinfo is None:
        raise ValueError("now has no time zone; pass an aware datetime (UTC)")
    table = sql.Identifier(domain, "moderation_decisions")
    parameters = {"authors": list(author_ids), "since": now - timedelta(seconds=window_s), "now": now}
    try:
        rows = conn.execute(QUERY.format(table=table), parameters).fetchall()
    except psycopg.errors.UndefinedTable as error:
        raise UnknownDomain(domain) from error
    found: dict[str, list[PastDecision]] = {author: [] for author in author_ids}
    for author_id, kind, content_id, decided_at, label, flagged in rows:
        found[author_id].append(PastDecision(content_key(kind, content_id), decided_at, int(label), bool(flagged)))
    return found
