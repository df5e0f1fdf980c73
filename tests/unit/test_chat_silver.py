"""Chat silver rows and gold ``room_activity_daily`` on small frames: PII hashed, text kept, the sentiment mix and
moderation rate per room and day computed from the newest decisions (expected values written out by hand)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pyspark.sql import Row

from pipelines.chat.gold import room_activity_daily
from pipelines.chat.silver import messages, users

T = datetime(2026, 3, 1, 9, tzinfo=UTC)


def test_users_keep_only_hashes_of_names_and_emails(spark) -> None:
    payload = Row(user_id="u-1", display_name="Ada Lovelace", email=" Ada@Example.com", registered_at=T)
    frame = spark.createDataFrame([Row(payload=payload, event_id="e1", occurred_at=T)])
    (row,) = users(frame).collect()
    assert "Ada" not in str(row.asDict()) and len(row.display_name_hash) == 64
    other = Row(user_id="u-2", display_name="x", email="ada@example.com", registered_at=T)
    (again,) = users(spark.createDataFrame([Row(payload=other, event_id="e2", occurred_at=T)])).collect()
    assert again.email_hash == row.email_hash  # normalised before hashing: one address, one hash


def test_messages_keep_the_text_and_count_mentions(spark) -> None:
    payload = Row(
        message_id="m1", room_id="r1", day="2026-03-01", author_id="u-1", text="hi @u-2", mentions=["u-2"], sent_at=T
    )
    (row,) = messages(spark.createDataFrame([Row(payload=payload, event_id="e1", occurred_at=T)])).collect()
    assert (row.text, row.mention_count, row.day) == ("hi @u-2", 1, date(2026, 3, 1))


def test_room_activity_counts_sentiment_and_flags_per_room_and_day(spark) -> None:
    sent = spark.createDataFrame(
        [
            Row(message_id="a", room_id="r1", day=date(2026, 3, 1), author_id="u-1"),
            Row(message_id="b", room_id="r1", day=date(2026, 3, 1), author_id="u-2"),
            Row(message_id="c", room_id="r1", day=date(2026, 3, 1), author_id="u-1"),
            Row(message_id="d", room_id="r1", day=date(2026, 3, 1), author_id="system"),
            Row(message_id="e", room_id="r1", day=date(2026, 3, 2), author_id="u-3"),
        ]
    )
    decided = spark.createDataFrame(
        [
            Row(message_id="a", label=1, flagged=False),
            Row(message_id="b", label=0, flagged=True),
            Row(message_id="e", label=0, flagged=False),
        ]
    )
    rows = {r.day: r.asDict() for r in room_activity_daily(sent, decided).collect()}
    first = {k: rows[date(2026, 3, 1)][k] for k in ("messages", "active_users", "positive", "negative", "unscored")}
    assert first == {"messages": 4, "active_users": 2, "positive": 1, "negative": 1, "unscored": 2}
    assert (rows[date(2026, 3, 1)]["flagged"], rows[date(2026, 3, 1)]["moderation_rate"]) == (1, 0.25)
    assert (rows[date(2026, 3, 2)]["negative"], rows[date(2026, 3, 2)]["moderation_rate"]) == (1, 0.0)
