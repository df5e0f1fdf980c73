"""The moderation rule: which rule fires, and the reason it gives."""

from __future__ import annotations

import pytest

from lakehouse.settings import Settings
from serving.sentiment.decision import ModerationPolicy, decide

POLICY = ModerationPolicy(
    flag_negative=0.9, watch_negative=0.7, history_min_messages=3, history_negative_share=0.5, history_flagged=2
)
QUIET = {"messages_24h": 0.0, "negative_share_24h": 0.0, "flagged_24h": 0.0}
NEGATIVE = {"messages_24h": 4.0, "negative_share_24h": 0.75, "flagged_24h": 0.0}
FLAGGED = {"messages_24h": 2.0, "negative_share_24h": 0.0, "flagged_24h": 2.0}


@pytest.mark.parametrize("features", [QUIET, NEGATIVE, FLAGGED])
def test_very_negative_content_is_flagged_whoever_wrote_it(features):
    flagged, reason = decide(0.05, features, POLICY)
    assert flagged and reason == "very-negative: P(negative) 0.95 >= 0.90"


def test_the_lower_bar_applies_to_an_author_with_mostly_negative_messages():
    flagged, reason = decide(0.25, NEGATIVE, POLICY)
    assert flagged
    assert reason == "negative-author-history: P(negative) 0.75 >= 0.70 and 75% of 4 messages negative in 24h"


def test_the_lower_bar_applies_to_an_author_already_flagged():
    flagged, reason = decide(0.25, FLAGGED, POLICY)
    assert flagged and reason == "negative-author-history: P(negative) 0.75 >= 0.70 and 2 flagged in 24h"


def test_the_same_score_from_a_quiet_author_is_not_flagged():
    flagged, reason = decide(0.25, QUIET, POLICY)
    assert not flagged and reason == "not-flagged: P(negative) 0.75 < 0.90"


def test_a_negative_share_over_too_few_messages_is_not_a_history():
    few = {"messages_24h": 2.0, "negative_share_24h": 1.0, "flagged_24h": 1.0}
    assert decide(0.25, few, POLICY) == (False, "not-flagged: P(negative) 0.75 < 0.90")


def test_mild_content_from_a_hostile_author_is_not_flagged_but_the_reason_says_why():
    flagged, reason = decide(0.6, NEGATIVE, POLICY)
    assert not flagged and reason == "not-flagged: P(negative) 0.40 < 0.70 (75% of 4 messages negative in 24h)"


def test_the_bars_are_at_their_edges_inclusive():
    assert decide(0.1, QUIET, POLICY)[0]  # P(negative) exactly 0.9
    assert decide(0.3, FLAGGED, POLICY)[0]  # exactly 0.7


def test_the_policy_comes_from_the_settings():
    settings = Settings(moderation_flag_negative=0.95, moderation_history_flagged=5)
    policy = ModerationPolicy.from_settings(settings)
    assert (policy.flag_negative, policy.history_flagged, policy.watch_negative) == (0.95, 5, 0.7)
