"""Notifications without a server: subject and consumer names, the contract's checks, what the relay picks out of
a batch, and how a consumer reads (or refuses) a message."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.core.contract import DomainContract, EventPayload
from ingest.core.envelope import EventEnvelope
from ingest.core.notification_delivery import parse
from ingest.core.notification_publisher import declared_notifications, notifications_in
from ingest.core.notification_subjects import dead_letter_subject, durable_name, stream_for, subject_for
from ingest.core.notifications import subscriptions_of
from ingest.ecommerce.contract import CONTRACT, build_event
from stack.bootstrap.kafka_topics import TopicSpec
from stack.bootstrap.nats_streams import DEAD_LETTER_STREAM, domain_stream

AT = datetime(2026, 1, 1, tzinfo=UTC)


class Flagged(EventPayload):
    message_id: str


def chat_contract(notifications: frozenset[str]) -> DomainContract:
    return DomainContract(
        name="chat",
        events={
            ("chat.message.flagged", 1): (Flagged, "chat.messages"),
            ("other.thing.done", 1): (Flagged, "chat.messages"),
        },
        topics=(TopicSpec("chat.messages", 1),),
        migrations=Path("nowhere"),
        notifications=notifications,
    )


def test_names_follow_the_event_type() -> None:
    assert subject_for("chat.message.flagged") == "lakehouse.chat.message.flagged"
    assert stream_for("chat.message.flagged") == "LAKEHOUSE_CHAT"
    assert dead_letter_subject("social", "chat.message.flagged") == "lakehouse.dead.social.chat.message.flagged"
    assert durable_name("social", "chat.message.flagged") == "social__chat_message_flagged"
    assert domain_stream("chat").subjects == ("lakehouse.chat.>",)
    assert DEAD_LETTER_STREAM.subjects == ("lakehouse.dead.>",)


@pytest.mark.parametrize("event_type", ["flagged", "chat.message.*", "chat.>", "chat.message flagged", "chat..x"])
def test_an_event_type_that_cannot_be_a_subject_is_refused(event_type: str) -> None:
    with pytest.raises(ValueError, match="cannot name a subject"):
        subject_for(event_type)


def test_a_contract_notifies_only_its_own_declared_events_and_then_declares_its_stream() -> None:
    with pytest.raises(ValueError, match="undeclared event type"):
        chat_contract(frozenset({"chat.message.deleted"}))
    with pytest.raises(ValueError, match="must start with 'chat.'"):
        chat_contract(frozenset({"other.thing.done"}))
    assert chat_contract(frozenset()).storage.streams == ()
    assert chat_contract(frozenset({"chat.message.flagged"})).storage.streams == (domain_stream("chat"),)


def test_ecommerce_notifies_held_orders_and_the_relay_finds_them_by_convention() -> None:
    assert CONTRACT.notifications == frozenset({"ecommerce.order.held"})
    assert declared_notifications("ecommerce") == CONTRACT.notifications
    assert declared_notifications("nosuchdomain") == frozenset()
    assert subscriptions_of("ecommerce") == () and subscriptions_of("nosuchdomain") == ()


def test_the_relay_picks_the_notified_events_out_of_a_batch() -> None:
    held_payload = {"order_id": "o-1", "customer_id": "c-1", "decision": "decline", "score": 0.93, "held_at": AT}
    held = build_event("ecommerce.order.held", "o-1", held_payload, AT)
    changed = build_event(
        "ecommerce.order.status_changed", "o-1", {"order_id": "o-1", "status": "review", "changed_at": AT}, AT
    )
    (only,) = notifications_in([changed.text, held.text], CONTRACT.notifications)
    assert (only.subject, only.stream, only.event_id, only.text) == (
        "lakehouse.ecommerce.order.held",
        "LAKEHOUSE_ECOMMERCE",
        held.event_id,
        held.text,
    )


def test_a_held_order_names_a_known_decision() -> None:
    with pytest.raises(ValueError, match="decision"):
        build_event(
            "ecommerce.order.held",
            "o-1",
            {"order_id": "o-1", "customer_id": "c-1", "decision": "approve", "held_at": AT},
            AT,
        )


def test_a_consumer_reads_an_envelope_and_says_why_it_refuses_one() -> None:
    envelope = EventEnvelope(type="chat.message.flagged", version=1, key="m-1", payload={"message_id": "m-1"})
    assert parse(envelope.to_json(), "chat.message.flagged") == envelope
    refusals = {
        b"{oops": "invalid JSON",
        b"[1, 2]": "not an event envelope",
        json.dumps({"type": "chat.message.flagged"}).encode(): "not an event envelope",
        envelope.to_json().replace(b"chat.message.flagged", b"chat.message.deleted"): "on the subject of",
        envelope.to_json().replace(envelope.event_id.encode(), b""): "missing event_id",
        envelope.to_json().replace(b'{"message_id":"m-1"}', b"[]"): "payload is not a JSON object",
    }
    for data, reason in refusals.items():
        with pytest.raises(ValueError, match=reason):
            parse(data, "chat.message.flagged")
