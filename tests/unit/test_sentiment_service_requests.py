"""What the sentiment service accepts (the contract's requests) and how it turns scores into decisions in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from features.moderation.history import PastDecision
from serving.sentiment.author_features import AuthorHistory
from serving.sentiment.contract import MAX_BATCH, MAX_TEXT_CHARS, ModerateRequest, ModerationItem, ScoreRequest
from serving.sentiment.decision import ModerationPolicy
from serving.sentiment.moderation import decide_items

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def problems(body: dict, model=ScoreRequest) -> list[str]:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(body)
    return [error["msg"] for error in raised.value.errors()]


def test_one_text_or_a_batch_is_accepted():
    assert ScoreRequest(text="fine").batch == ["fine"]
    assert ScoreRequest(texts=["a", "b"]).batch == ["a", "b"]
    assert len(ScoreRequest(texts=["x" * MAX_TEXT_CHARS] * MAX_BATCH).batch) == MAX_BATCH


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"text": ""}, "at least 1 character"),
        ({"text": "x" * (MAX_TEXT_CHARS + 1)}, "at most 5000 characters"),
        ({"texts": []}, "at least 1 item"),
        ({"texts": ["ok"] * (MAX_BATCH + 1)}, "at most 1000 items"),
        ({"texts": ["ok", ""]}, "texts[1] must have 1 to 5000 characters"),
        ({}, "send exactly one of 'text'"),
        ({"text": "a", "texts": ["b"]}, "send exactly one of 'text'"),
        ({"text": "a", "lang": "en"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_score_requests_name_the_problem(body, says):
    assert any(says in message for message in problems(body))


def item(content_id: str, author: str = "u-1", text: str = "some text") -> ModerationItem:
    return ModerationItem(domain="chat", content_kind="message", content_id=content_id, author_id=author, text=text)


def test_a_moderation_request_needs_whole_items():
    assert "Field required" in problems({"items": [{"domain": "chat", "text": "hi"}]}, ModerateRequest)
    assert any("at most 1000" in m for m in problems({"items": [item("1").model_dump()] * 1001}, ModerateRequest))


POLICY = ModerationPolicy(flag_negative=0.9, watch_negative=0.7, history_min_messages=3, history_flagged=2)


def history(*decisions: PastDecision, source: str = "online") -> AuthorHistory:
    return AuthorHistory(list(decisions), source, [])


def test_items_of_one_author_in_one_request_see_each_other_in_order():
    items = [item("1"), item("2"), item("3")]
    # The first two are very negative and flagged; the third is only mildly negative, and is flagged because the
    # author now has two flagged messages in the day.
    decisions, decided = decide_items(
        items, [0, 0, 0], [0.05, 0.05, 0.25], {("chat", "u-1"): history()}, POLICY, NOW, ("sentiment", "3")
    )
    assert [d.flagged for d in decisions] == [True, True, True]
    assert [d.features["flagged_24h"] for d in decisions] == [0, 1, 2]
    assert decisions[2].reason.startswith("negative-author-history")
    assert [d.content_key for d in decided[("chat", "u-1")]] == ["message:1", "message:2", "message:3"]
    assert (decisions[0].model_name, decisions[0].model_version, decisions[0].features_source) == (
        "sentiment",
        "3",
        "online",
    )


def test_re_moderating_content_replaces_its_earlier_decision_instead_of_counting_it():
    earlier = PastDecision("message:1", (NOW - timedelta(hours=1)).timestamp(), 0, True)
    other = PastDecision("message:9", (NOW - timedelta(hours=2)).timestamp(), 0, True)
    decisions, decided = decide_items(
        [item("1")], [1], [0.8], {("chat", "u-1"): history(earlier, other)}, POLICY, NOW, ("sentiment", "3")
    )
    assert decisions[0].features == {"messages_24h": 1, "negative_share_24h": 1.0, "flagged_24h": 1}
    assert decided[("chat", "u-1")] == [PastDecision("message:1", NOW.timestamp(), 1, False)]


def test_the_decision_echoes_the_item_and_scores_it_as_positive_probability():
    decisions, _ = decide_items(
        [item("7", author="u-2")], [1], [0.93], {("chat", "u-2"): history(source="none")}, POLICY, NOW, ("s", "1")
    )
    decision = decisions[0]
    assert (decision.domain, decision.content_kind, decision.content_id, decision.author_id) == (
        "chat",
        "message",
        "7",
        "u-2",
    )
    assert (decision.label, decision.score, decision.flagged, decision.features_source) == (1, 0.93, False, "none")
