"""The chat contract: topics under ``chat.``, every event type routed, payload rules, notifications declared."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from ingest.chat import contract as ev


def test_every_entity_has_a_topic_and_every_event_a_declared_one() -> None:
    assert ev.CONTRACT.entities == {
        "users": "chat.users",
        "rooms": "chat.rooms",
        "memberships": "chat.memberships",
        "messages": "chat.messages",
    }
    assert {topic for _, topic in ev.EVENT_SCHEMAS.values()} == set(ev.TOPICS)
    assert all(event_type.startswith("chat.") for event_type, _ in ev.EVENT_SCHEMAS)
    assert ev.CONTRACT.notifications == frozenset({"chat.message.flagged"})


def test_a_sent_message_is_keyed_by_its_room_and_validated() -> None:
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    payload = {
        "message_id": "c1070000-15ca-11f1-822e-32f56e33f30d",
        "room_id": "r1",
        "day": "2026-03-01",
        "author_id": "u-000001",
        "text": "hello",
        "mentions": [],
        "sent_at": at,
    }
    event = ev.build_event(ev.MESSAGE_SENT, "r1", payload, at)
    assert (event.topic, event.key, event.envelope.type) == ("chat.messages", "r1", "chat.message.sent")
    with pytest.raises(ValidationError):
        ev.build_event(ev.MESSAGE_SENT, "r1", payload | {"day": "01/03/2026"}, at)
    with pytest.raises(ValidationError):
        ev.build_event(ev.MESSAGE_SENT, "r1", payload | {"text": ""}, at)


@pytest.mark.parametrize("kind", ["channel", "DIRECT", ""])
def test_a_room_kind_outside_the_three_is_refused(kind: str) -> None:
    with pytest.raises(ValidationError):
        ev.RoomCreatedV1(room_id="r", kind=kind, title="", created_by="u", created_at=datetime.now(UTC))


def test_a_review_carries_a_binary_label_and_a_known_decision() -> None:
    base = {"message_id": "m", "room_id": "r", "author_id": "a", "reviewer_id": "b", "text": "t"}
    ev.MessageReviewedV1(**base, label=1, decision="keep", reviewed_at=datetime.now(UTC))
    with pytest.raises(ValidationError):
        ev.MessageReviewedV1(**base, label=2, decision="keep", reviewed_at=datetime.now(UTC))
    with pytest.raises(ValidationError):
        ev.MessageReviewedV1(**base, label=0, decision="ban", reviewed_at=datetime.now(UTC))
