"""Typed social events → silver rows: one function per silver table; emails leave only as a peppered hash.

Inputs are the valid events of one (type, version) from :func:`pipelines.core.parse.split_events`.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

# Stable across runs so users can be counted and joined; the pepper stops lookups in public sha256 tables.
PII_PEPPER = "lakehouse.social.pii.v1"


def pii_hash(value: Column) -> Column:
    return F.sha2(F.concat(F.lit(PII_PEPPER), F.lower(F.trim(value))), 256)


def _fields(events: DataFrame, *names: str) -> DataFrame:
    return events.select(*[f"payload.{name}" for name in names], "event_id", "occurred_at")


def users(events: DataFrame) -> DataFrame:
    return events.select(
        "payload.user_id",
        "payload.handle",
        pii_hash(F.col("payload.email")).alias("email_hash"),
        "payload.trust_level",
        "payload.registered_at",
        "event_id",
        "occurred_at",
    )


def trust_changes(events: DataFrame) -> DataFrame:
    return _fields(events, "user_id", "trust_level", "previous_level", "reason", "flags_24h", "changed_at")


def follows(events: DataFrame) -> DataFrame:
    return _fields(events, "follower_id", "followee_id", "following", "changed_at")


def posts(events: DataFrame) -> DataFrame:
    return _fields(events, "post_id", "author_id", "text", "hashtags", "topic", "status", "created_at")


def moderations(events: DataFrame) -> DataFrame:
    """The newest decision per post or comment (``content_id``): label, P(positive), flag and resulting status."""
    names = ("content_id", "post_id", "author_id", "label", "score", "flagged", "status", "model_version")
    return _fields(events, *names, "moderated_at")


def reviews(events: DataFrame) -> DataFrame:
    return _fields(events, "review_id", "post_id", "author_id", "reviewer_id", "label", "decision", "reviewed_at")


def comments(events: DataFrame) -> DataFrame:
    return _fields(events, "comment_id", "post_id", "author_id", "text", "created_at")


def reactions(events: DataFrame) -> DataFrame:
    return _fields(events, "post_id", "user_id", "kind", "reacted_at")
