"""Moderators' reviews read from real Delta silver tables in a throwaway lake: rows shaped by the apps' own silver
functions, written where the chat and social flows write them; tables not written yet read as no reviews."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from pyspark.sql import DataFrame, Row, SparkSession

from lakehouse.settings import Settings
from models.sentiment.reviews import moderator_reviews
from pipelines.chat import silver as chat_silver
from pipelines.core.tables import domain_lake
from pipelines.social import silver as social_silver

T = datetime(2026, 3, 1, 9, tzinfo=UTC)
LATER = T + timedelta(minutes=5)
COLUMNS = ["text", "label", "source"]


def events(spark: SparkSession, *payloads: Row) -> DataFrame:
    """Valid events as silver receives them: the payload as a struct beside the envelope fields."""
    rows = [Row(payload=payload, event_id=f"e{index}", occurred_at=T) for index, payload in enumerate(payloads)]
    return spark.createDataFrame(rows)


def chat_message(message_id: str, text: str) -> Row:
    return Row(
        message_id=message_id, room_id="r1", day="2026-03-01", author_id="u1", text=text, mentions=["u2"], sent_at=T
    )


def chat_review(message_id: str, label: int, text: str, at: datetime) -> Row:
    return Row(
        message_id=message_id,
        room_id="r1",
        author_id="u1",
        reviewer_id="mod",
        label=label,
        decision="keep",
        text=text,
        reviewed_at=at,
    )


def social_post(post_id: str, text: str) -> Row:
    return Row(
        post_id=post_id, author_id="u1", text=text, hashtags=["app"], topic="app", status="visible", created_at=T
    )


def social_review(review_id: str, post_id: str, label: int, at: datetime) -> Row:
    return Row(
        review_id=review_id,
        post_id=post_id,
        author_id="u1",
        reviewer_id="mod",
        label=label,
        decision="keep",
        reviewed_at=at,
    )


def write(frame: DataFrame, path: str) -> None:
    frame.write.format("delta").save(path)


def expected(*rows: tuple[str, int, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS).sort_values(COLUMNS, ignore_index=True)


def test_a_lake_without_review_tables_has_no_reviews(spark, tmp_path) -> None:
    reviews = moderator_reviews(Settings(lake_root=str(tmp_path)), spark)
    assert reviews.empty and list(reviews.columns) == COLUMNS


def test_reviews_are_read_from_chat_and_social_silver(spark, tmp_path) -> None:
    settings = Settings(lake_root=str(tmp_path))
    chat, social = domain_lake(settings, "chat"), domain_lake(settings, "social")
    write(chat_silver.messages(events(spark, chat_message("m1", "hello all"))), chat.silver("messages"))
    write(
        chat_silver.message_reviews(
            events(spark, chat_review("m1", 0, "hello all", T), chat_review("m1", 1, "hello all!", LATER))
        ),
        chat.silver("message_reviews"),
    )

    # Social has had no review yet: only chat's newest review (with the text it judged) comes back.
    pd.testing.assert_frame_equal(moderator_reviews(settings, spark), expected(("hello all!", 1, "chat_reviews")))

    write(social_silver.posts(events(spark, social_post("p1", "this app is great"))), social.silver("posts"))
    write(
        social_silver.reviews(events(spark, social_review("r1", "p1", 1, T), social_review("r2", "p-unknown", 0, T))),
        social.silver("post_reviews"),
    )

    pd.testing.assert_frame_equal(
        moderator_reviews(settings, spark),
        expected(("hello all!", 1, "chat_reviews"), ("this app is great", 1, "social_reviews")),
    )
