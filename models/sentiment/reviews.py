"""Moderators' reviews from the chat and social apps, as labelled texts the sentiment model learns from.

The reference sets (Reddit comments, product reviews) only approximate what the model scores; a moderator's label
on a chat message or a social post is ground truth on exactly that kind of text. Both apps land their reviews in
silver; this module turns them into ``text,label,source`` rows for ``training_rows(extra=...)``: the newest review
of each message or post (a moderator may change their mind), joined to its text, one row per distinct text. A
silver table not written yet (no review so far, e.g. on a first run) reads as no rows, not as an error.
"""

from __future__ import annotations

import pandas as pd
from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from lakehouse.settings import Settings
from lakehouse.spark import spark_session
from models.sentiment.data import COLUMNS
from pipelines.core.tables import domain_lake

CHAT_REVIEWS = "chat_reviews"
SOCIAL_REVIEWS = "social_reviews"
REVIEW_SOURCES = (CHAT_REVIEWS, SOCIAL_REVIEWS)

# The columns read from each silver table; an absent table reads as an empty frame of this shape.
_CHAT_REVIEWS = "message_id string, label int, text string, reviewed_at timestamp, event_id string"
_CHAT_MESSAGES = "message_id string, text string"
_SOCIAL_REVIEWS = "post_id string, label int, reviewed_at timestamp, review_id string"
_SOCIAL_POSTS = "post_id string, text string"


def newest_review(reviews: DataFrame, keys: list[str], tie_breaker: str) -> DataFrame:
    """The newest review of each ``keys`` by ``reviewed_at``; ``tie_breaker`` makes equal times pick the same row."""
    newest_first = Window.partitionBy(*keys).orderBy(F.col("reviewed_at").desc(), F.col(tie_breaker).desc())
    return reviews.withColumn("_rank", F.row_number().over(newest_first)).where(F.col("_rank") == 1).drop("_rank")


def _non_blank(column: str) -> Column:
    text = F.trim(F.col(column))
    return F.when(text != "", text)


def chat_review_texts(reviews: DataFrame, messages: DataFrame) -> DataFrame:
    """``text, label, source, reviewed_at`` per reviewed chat message. The review carries the text the moderator read
    (the message as edited by then), so it wins; the message's text as sent stands in where the review has none."""
    latest = newest_review(reviews, ["message_id"], "event_id")
    sent = messages.select("message_id", F.col("text").alias("sent_text"))
    return latest.join(sent, "message_id", "left").select(
        F.coalesce(_non_blank("text"), _non_blank("sent_text")).alias("text"),
        F.col("label").cast("int").alias("label"),
        F.lit(CHAT_REVIEWS).alias("source"),
        "reviewed_at",
    )


def social_review_texts(reviews: DataFrame, posts: DataFrame) -> DataFrame:
    """``text, label, source, reviewed_at`` per reviewed social post; a review whose post has not landed in silver
    yet has no text to learn from and waits for a later run."""
    latest = newest_review(reviews, ["post_id"], "review_id")
    return latest.join(posts.select("post_id", "text"), "post_id", "inner").select(
        _non_blank("text").alias("text"),
        F.col("label").cast("int").alias("label"),
        F.lit(SOCIAL_REVIEWS).alias("source"),
        "reviewed_at",
    )


def distinct_texts(reviewed: DataFrame) -> DataFrame:
    """One ``text, label, source`` row per text of each source, labelled by its newest review: a text reviewed many
    times ("ok", "thanks") would otherwise weigh many times over, and where moderators disagreed the latest wins."""
    labelled = reviewed.where(F.col("text").isNotNull() & F.col("label").isin(0, 1))
    return newest_review(labelled, ["source", "text"], "label").select(*COLUMNS)


def _read_or_empty(spark: SparkSession, path: str, schema: str) -> DataFrame:
    if not DeltaTable.isDeltaTable(spark, path):  # the app has not had a review (or a message) yet
        return spark.createDataFrame([], schema)
    columns = [field.split()[0] for field in schema.split(",")]
    return spark.read.format("delta").load(path).select(*columns)


def moderator_reviews(settings: Settings, spark: SparkSession | None = None) -> pd.DataFrame:
    """Every reviewed chat message and social post in the lake ``settings`` names, as ``text,label,source`` rows
    (``source`` is ``chat_reviews`` or ``social_reviews``); an empty frame with those columns when there are none."""
    spark = spark or spark_session(settings)
    chat, social = domain_lake(settings, "chat"), domain_lake(settings, "social")
    reviewed = chat_review_texts(
        _read_or_empty(spark, chat.silver("message_reviews"), _CHAT_REVIEWS),
        _read_or_empty(spark, chat.silver("messages"), _CHAT_MESSAGES),
    ).unionByName(
        social_review_texts(
            _read_or_empty(spark, social.silver("post_reviews"), _SOCIAL_REVIEWS),
            _read_or_empty(spark, social.silver("posts"), _SOCIAL_POSTS),
        )
    )
    rows = distinct_texts(reviewed).toPandas()
    return rows.astype({"text": str, "label": int, "source": str}).sort_values(COLUMNS, ignore_index=True)


def review_counts(rows: pd.DataFrame) -> dict[str, int]:
    """Rows per review source, zero included, as the sentiment assets show them (the run logs ``extra_rows.*``)."""
    counts = rows["source"].value_counts()
    return {source: int(counts.get(source, 0)) for source in REVIEW_SOURCES}
