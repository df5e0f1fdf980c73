"""Moderators' reviews as training rows, on small frames: the newest review of each message or post joined to its
text, one row per distinct text, and how reviews weigh in training and in the champion gate (expected values
written out by hand)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import Row
from pyspark.testing import assertDataFrameEqual

from models.sentiment.reviews import chat_review_texts, distinct_texts, review_counts, social_review_texts
from models.sentiment.training import MIN_GATE_ROWS, gate_accuracy, row_weights

T = datetime(2026, 3, 1, 9, tzinfo=UTC)
LATER = T + timedelta(minutes=5)


def test_chat_keeps_each_messages_newest_review_and_the_text_the_moderator_read(spark) -> None:
    reviews = spark.createDataFrame(
        [
            Row(message_id="m1", label=0, text="you are awful", reviewed_at=T, event_id="e1"),
            Row(message_id="m1", label=1, text="you are awesome", reviewed_at=LATER, event_id="e2"),
            Row(message_id="m2", label=0, text="  ", reviewed_at=T, event_id="e3"),
            Row(message_id="m3", label=1, text=None, reviewed_at=T, event_id="e4"),
        ],
        "message_id string, label long, text string, reviewed_at timestamp, event_id string",
    )
    messages = spark.createDataFrame(
        [("m1", "you are awful"), ("m2", "this is broken")], "message_id string, text string"
    )

    result = chat_review_texts(reviews, messages).select("text", "label", "source")

    expected = [
        ("you are awesome", 1, "chat_reviews"),  # the newer review, with the edited text it judged
        ("this is broken", 0, "chat_reviews"),  # a blank review text falls back to the message as sent
        (None, 1, "chat_reviews"),  # no text anywhere: dropped later by distinct_texts
    ]
    assertDataFrameEqual(result, spark.createDataFrame(expected, "text string, label int, source string"))


def test_social_joins_each_posts_newest_review_to_the_posts_text(spark) -> None:
    reviews = spark.createDataFrame(
        [
            Row(post_id="p1", label=1, reviewed_at=T, review_id="r1"),
            Row(post_id="p1", label=0, reviewed_at=LATER, review_id="r2"),
            Row(post_id="p2", label=1, reviewed_at=T, review_id="r3"),
            Row(post_id="p-not-landed", label=1, reviewed_at=T, review_id="r4"),
        ]
    )
    posts = spark.createDataFrame([("p1", " worst update ever "), ("p2", "love it")], "post_id string, text string")

    result = social_review_texts(reviews, posts).select("text", "label", "source")

    expected = [("worst update ever", 0, "social_reviews"), ("love it", 1, "social_reviews")]
    assertDataFrameEqual(result, spark.createDataFrame(expected, "text string, label int, source string"))


def test_a_text_reviewed_many_times_is_one_row_labelled_by_its_newest_review(spark) -> None:
    reviewed = spark.createDataFrame(
        [
            ("thanks", 1, "chat_reviews", T),
            ("thanks", 0, "chat_reviews", LATER),
            ("thanks", 1, "social_reviews", T),  # another source keeps its own row
            ("great", 1, "chat_reviews", T),
            ("great", 1, "chat_reviews", T),
            (None, 1, "chat_reviews", T),
        ],
        "text string, label int, source string, reviewed_at timestamp",
    )

    expected = [("thanks", 0, "chat_reviews"), ("thanks", 1, "social_reviews"), ("great", 1, "chat_reviews")]
    assertDataFrameEqual(
        distinct_texts(reviewed), spark.createDataFrame(expected, "text string, label int, source string")
    )


def test_review_counts_name_every_review_source() -> None:
    rows = pd.DataFrame({"text": ["a", "b"], "label": [1, 0], "source": ["chat_reviews", "chat_reviews"]})
    assert review_counts(rows) == {"chat_reviews": 2, "social_reviews": 0}
    assert review_counts(pd.DataFrame(columns=["text", "label", "source"])) == {"chat_reviews": 0, "social_reviews": 0}


def test_reviews_weigh_like_the_reference_review_sources_not_like_goemotions() -> None:
    rows = pd.DataFrame({"source": ["chat_reviews"] * 3 + ["goemotions"] * 2, "label": [1, 1, 0, 1, 0]})
    # chat_reviews: 3 rows, 2 positive -> 3 / (2 * 2) each, 1 negative -> 3 / 2; goemotions scaled by 0.1.
    np.testing.assert_allclose(row_weights(rows, goemotions_weight=0.1), [0.75, 0.75, 1.5, 0.1, 0.1])


@pytest.mark.parametrize(
    ("review_rows", "expected"), [(MIN_GATE_ROWS - 1, (0.8 + 0.9) / 2), (MIN_GATE_ROWS, (0.8 + 0.9 + 0.2) / 3)]
)
def test_reviews_count_in_the_champion_gate_only_with_enough_held_out_texts(review_rows: int, expected: float) -> None:
    per_source = {
        "amazon": {"accuracy": 0.8, "rows": 5.0},  # reference sources count whatever their size
        "yelp": {"accuracy": 0.9, "rows": 5.0},
        "chat_reviews": {"accuracy": 0.2, "rows": float(review_rows)},
    }
    assert gate_accuracy(per_source) == pytest.approx(expected)
