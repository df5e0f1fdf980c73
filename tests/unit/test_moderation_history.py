"""The author features' arithmetic and their Redis encoding, on hand-made histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from features.moderation.history import PastDecision, author_features, content_key, within_window
from features.moderation.online import AS_OF_FIELD, decode, encode, parse_history

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(hours_ago: float) -> float:
    return (NOW - timedelta(hours=hours_ago)).timestamp()


HISTORY = [
    PastDecision("message:1", at(1), 0, True),
    PastDecision("message:2", at(2), 0, False),
    PastDecision("post:3", at(23.9), 1, False),
    PastDecision("message:4", at(24.1), 0, True),  # just out of the window
    PastDecision("message:5", at(-0.1), 0, True),  # after now: not yet known
]


def test_features_count_the_last_day_only():
    assert author_features(HISTORY, NOW) == {"messages_24h": 3, "negative_share_24h": 2 / 3, "flagged_24h": 1}


def test_the_content_being_decided_never_counts_towards_its_own_features():
    features = author_features(HISTORY, NOW, excluding=content_key("message", "1"))
    assert features == {"messages_24h": 2, "negative_share_24h": 0.5, "flagged_24h": 0}


def test_an_author_without_history_has_zeros():
    assert author_features([], NOW) == {"messages_24h": 0, "negative_share_24h": 0.0, "flagged_24h": 0}


def test_the_window_is_exactly_a_day():
    edge = [PastDecision("m:a", at(24), 0, False), PastDecision("m:b", at(0), 1, False)]
    assert author_features(edge, NOW)["messages_24h"] == 1  # (now - 24h, now]
    assert [d.content_key for d in within_window(HISTORY, NOW)] == ["message:1", "message:2", "post:3", "message:5"]


def test_a_decision_reads_back_exactly_from_its_redis_field():
    decision = PastDecision("message:x", NOW.timestamp() + 0.123456, 0, True)
    assert decode("message:x", encode(decision)) == decision


def test_online_history_is_fresh_stale_or_missing_by_its_rebuild_time():
    stored = {b"message:1": encode(HISTORY[0]).encode(), AS_OF_FIELD.encode(): (NOW - timedelta(hours=1)).isoformat()}
    fresh = parse_history(stored, NOW, max_age_s=7200)
    assert (fresh.status, fresh.decisions) == ("fresh", [HISTORY[0]])
    assert parse_history(stored, NOW, max_age_s=1800).status == "stale"
    assert parse_history({}, NOW, 7200).status == "missing"
    assert parse_history({"message:1": encode(HISTORY[0])}, NOW, 7200).status == "missing"  # no as_of: half-built
    assert parse_history({AS_OF_FIELD: NOW.isoformat(), "m:1": "garbage"}, NOW, 7200).status == "missing"


@pytest.mark.parametrize("hours", [0.5, 5])
def test_negative_share_is_a_share_of_the_windowed_messages(hours):
    history = [PastDecision(f"m:{i}", at(hours), i % 2, False) for i in range(4)]
    assert author_features(history, NOW)["negative_share_24h"] == 0.5
