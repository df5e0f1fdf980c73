"""Outbox envelopes: validated against the event contract, routed by type, keyed by aggregate, exact text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from ingest.core.envelope import EventEnvelope
from ingest.ecommerce.contract import ORDERS_TOPIC, PAYMENTS_TOPIC, OrderStatusChangedV1, build_event

AT = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)


def payment(**changes: object) -> dict[str, object]:
    fields = {"payment_id": "pay-1", "order_id": "o-1", "amount": Decimal("12.50"), "method": "card", "captured_at": AT}
    return fields | changes


def test_envelope_text_is_what_consumers_parse() -> None:
    event = build_event("ecommerce.payment.captured", "o-1", payment(), AT)
    parsed = json.loads(event.text)
    assert event.topic == PAYMENTS_TOPIC
    assert event.key == "o-1" and parsed["key"] == "o-1"
    assert parsed["type"] == "ecommerce.payment.captured" and parsed["version"] == 1
    assert parsed["event_id"] == event.event_id
    assert parsed["occurred_at"] == "2024-03-05T10:00:00+00:00"
    # Money stays exact: a string, not a float.
    assert parsed["payload"]["amount"] == "12.50"
    assert EventEnvelope.from_json(event.text) == event.envelope


def test_model_instances_and_dicts_make_the_same_payload() -> None:
    as_model = build_event(
        "ecommerce.order.status_changed", "o-1", OrderStatusChangedV1(order_id="o-1", status="paid", changed_at=AT), AT
    )
    as_dict = build_event(
        "ecommerce.order.status_changed", "o-1", {"order_id": "o-1", "status": "paid", "changed_at": AT}, AT
    )
    assert as_model.topic == as_dict.topic == ORDERS_TOPIC
    assert as_model.envelope.payload == as_dict.envelope.payload
    assert as_model.event_id != as_dict.event_id


@pytest.mark.parametrize(
    ("payload", "field"),
    [(payment(amount=Decimal("0")), "amount"), (payment(surprise=1), "surprise"), ({"payment_id": "p"}, "order_id")],
)
def test_an_invalid_payload_never_becomes_an_outbox_event(payload: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        build_event("ecommerce.payment.captured", "o-1", payload, AT)


def test_an_unknown_event_type_is_refused_with_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known: .*ecommerce.order.placed v1"):
        build_event("ecommerce.order.teleported", "o-1", {}, AT)
