"""What social silver must look like: one Great Expectations suite per silver table, blocking gold."""

from __future__ import annotations

from collections.abc import Callable

from ingest.social.contract import POST_STATUSES, REACTION_KINDS, TRUST_LEVELS
from pipelines.core.expectations import SHA256_HEX, gxe, keyed


def _in(column: str, values: tuple[str, ...]) -> gxe.Expectation:
    return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(values))


def _probability(column: str) -> gxe.Expectation:
    return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=1)


def _moderation() -> list[gxe.Expectation]:
    return [*keyed("content_id"), _probability("score"), gxe.ExpectColumnValuesToNotBeNull(column="post_id")]


SILVER_EXPECTATIONS: dict[str, Callable[[], list[gxe.Expectation]]] = {
    "users": lambda: [
        *keyed("user_id"),
        gxe.ExpectColumnValuesToMatchRegex(column="email_hash", regex=SHA256_HEX),
        _in("trust_level", TRUST_LEVELS),
    ],
    "trust_changes": lambda: [*keyed("event_id"), _in("trust_level", TRUST_LEVELS)],
    "follows": lambda: [*keyed("follower_id", "followee_id")],
    "posts": lambda: [*keyed("post_id"), gxe.ExpectColumnValuesToNotBeNull(column="author_id")],
    "post_moderations": lambda: [*_moderation(), _in("status", POST_STATUSES)],
    "post_reviews": lambda: [*keyed("review_id"), _in("decision", ("keep", "remove"))],
    "comments": lambda: [*keyed("comment_id"), gxe.ExpectColumnValuesToNotBeNull(column="post_id")],
    "comment_moderations": _moderation,
    "reactions": lambda: [*keyed("post_id", "user_id", "kind"), _in("kind", REACTION_KINDS)],
}
