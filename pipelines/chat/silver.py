"""Typed chat events → silver rows: one function per silver table, PII hashed on the way.

Display names and e-mail addresses leave as peppered hashes; message text is kept (it is the content the
sentiment model learns from and moderators review). Inputs are the valid events of one (type, version) from
:func:`pipelines.core.parse.split_events`: provenance, envelope fields and ``payload`` as a struct.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

# Stable across runs and machines so users can be counted and joined; the pepper keeps common names and
# addresses out of public sha256 tables. Moving it to a secret changes every hash once.
PII_PEPPER = "lakehouse.chat.pii.v1"


def pii_hash(value: Column) -> Column:
    """sha256 hex of the peppered, normalised value; null stays null."""
    return F.sha2(F.concat(F.lit(PII_PEPPER), F.lower(F.trim(value))), 256)


def users(events: DataFrame) -> DataFrame:
    return events.select(
        "payload.user_id",
        pii_hash(F.col("payload.display_name")).alias("display_name_hash"),
        pii_hash(F.col("payload.email")).alias("email_hash"),
        "payload.registered_at",
        "event_id",
        "occurred_at",
    )


def profiles(events: DataFrame) -> DataFrame:
    return events.select(
        "payload.user_id",
        pii_hash(F.col("payload.display_name")).alias("display_name_hash"),
        F.col("payload.avatar_url").isNotNull().alias("has_avatar"),
        F.size("payload.preferences").alias("preference_count"),
        F.col("payload.blocked_users").alias("blocked_users"),
        "payload.profile_version",
        "payload.updated_at",
        "event_id",
        "occurred_at",
    )


def rooms(events: DataFrame) -> DataFrame:
    fields = ("room_id", "kind", "title", "external_ref", "created_by", "created_at")
    return events.select(*[f"payload.{c}" for c in fields], "event_id", "occurred_at")


def memberships(events: DataFrame) -> DataFrame:
    fields = ("room_id", "user_id", "role", "active", "changed_by", "changed_at")
    return events.select(*[f"payload.{c}" for c in fields], "event_id", "occurred_at")


def messages(events: DataFrame) -> DataFrame:
    """message.sent → one row per message, as sent (edits, deletes and moderation are their own tables)."""
    return events.select(
        "payload.message_id",
        "payload.room_id",
        F.to_date("payload.day").alias("day"),
        "payload.author_id",
        "payload.text",
        F.size("payload.mentions").alias("mention_count"),
        "payload.sent_at",
        "event_id",
        "occurred_at",
    )


def message_edits(events: DataFrame) -> DataFrame:
    fields = ("message_id", "room_id", "author_id", "text", "edited_at")
    return events.select("event_id", *[f"payload.{c}" for c in fields], "occurred_at")


def message_deletions(events: DataFrame) -> DataFrame:
    fields = ("message_id", "room_id", "deleted_by", "deleted_at")
    return events.select(*[f"payload.{c}" for c in fields], "event_id", "occurred_at")


def message_moderations(events: DataFrame) -> DataFrame:
    """The newest decision per message: its sentiment label, P(positive) and whether it was flagged."""
    fields = ("message_id", "room_id", "author_id", "label", "score", "flagged", "reason", "model_version")
    return events.select(*[f"payload.{c}" for c in fields], "payload.moderated_at", "event_id", "occurred_at")


def message_reviews(events: DataFrame) -> DataFrame:
    """Every moderator's review: a human label on a message's sentiment (training data for the model)."""
    fields = ("message_id", "room_id", "author_id", "reviewer_id", "label", "decision", "text", "reviewed_at")
    return events.select("event_id", *[f"payload.{c}" for c in fields], "occurred_at")
