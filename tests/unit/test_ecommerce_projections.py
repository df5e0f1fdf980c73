"""orders_by_customer rows: one partition per customer and UTC month, built from the order.placed envelope."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from ingest.ecommerce.contract import OrderLineV1, OrderPlacedV1, build_event
from ingest.ecommerce.projections import month_key, projection_row


@pytest.mark.parametrize(
    ("moment", "month"),
    [
        (datetime(2024, 3, 31, 23, 59, tzinfo=UTC), "2024-03"),
        (datetime(2024, 4, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))), "2024-03"),  # 23:30 UTC on March 31
        (datetime(2024, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))), "2025-01"),
        (datetime(1999, 7, 4, 12, 0), "1999-07"),  # naive: read as UTC
    ],
)
def test_month_key_is_the_utc_month(moment: datetime, month: str) -> None:
    assert month_key(moment) == month


def test_order_placed_becomes_one_row_keyed_by_customer_and_month() -> None:
    placed_at = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)
    lines = [
        OrderLineV1(product_id=f"p-{n}", category="toys", quantity=1, unit_price=Decimal("2.25")) for n in range(3)
    ]
    payload = OrderPlacedV1(
        order_id="o-1",
        customer_id="c-1",
        merchant_id="m-1",
        terminal_id="t-1",
        card_number="4111111111111111",
        amount=Decimal("6.75"),
        currency="EUR",
        lines=lines,
        placed_at=placed_at,
    )
    event = build_event("ecommerce.order.placed", "o-1", payload, placed_at)
    row = projection_row(event.text)
    assert row == ("c-1", "2024-03", placed_at, "o-1", "m-1", Decimal("6.75"), "EUR", 3, uuid.UUID(event.event_id))


def test_other_events_are_not_projected() -> None:
    at = datetime(2024, 3, 5, tzinfo=UTC)
    event = build_event(
        "ecommerce.order.status_changed", "o-1", {"order_id": "o-1", "status": "paid", "changed_at": at}, at
    )
    assert projection_row(event.text) is None
