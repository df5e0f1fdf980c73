"""A retried command is recognised by its content, whatever harmless spelling differences it arrives with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from ingest.core.errors import IdempotencyConflict
from ingest.core.idempotency import as_utc, fingerprint, is_replay
from ingest.ecommerce.commands import OrderLine, PlaceOrder, RegisterCustomer, UpsertProduct


def order(**changes: object) -> PlaceOrder:
    fields: dict[str, object] = {
        "order_id": "o-1",
        "customer_id": "c-1",
        "merchant_id": "m-1",
        "terminal_id": "t-1",
        "card_number": "4111111111111111",
        "lines": [OrderLine(product_id="p-1", category="toys", quantity=2, unit_price=Decimal("10.00"))],
        "placed_at": datetime(2024, 3, 5, 10, 0, tzinfo=UTC),
    }
    return PlaceOrder(**(fields | changes))


def test_same_content_spelled_differently_has_the_same_fingerprint() -> None:
    paris = timezone(timedelta(hours=1))
    same_order = order(
        lines=[OrderLine(product_id="p-1", category="toys", quantity=2, unit_price=Decimal("10.0"))],
        placed_at=datetime(2024, 3, 5, 11, 0, tzinfo=paris),
    )
    assert fingerprint(same_order) == fingerprint(order())
    assert fingerprint(order(placed_at=datetime(2024, 3, 5, 10, 0))) == fingerprint(order())  # naive = UTC


@pytest.mark.parametrize(
    "change",
    [
        {"card_number": "4111111111111112"},
        {"lines": [OrderLine(product_id="p-1", category="toys", quantity=3, unit_price=Decimal("10"))]},
        {"placed_at": None},
        {"currency": "USD"},
    ],
)
def test_any_content_change_changes_the_fingerprint(change: dict[str, object]) -> None:
    assert fingerprint(order(**change)) != fingerprint(order())


def test_price_ten_is_not_confused_with_one() -> None:
    product = {"product_id": "p", "sku": "s", "name": "n", "category": "c", "merchant_id": "m"}
    ten = UpsertProduct(**product, price=Decimal("10"))
    one = UpsertProduct(**product, price=Decimal("1"))
    assert fingerprint(ten) != fingerprint(one)
    assert fingerprint(ten) == fingerprint(UpsertProduct(**product, price=Decimal("10.00")))


def test_a_replay_is_recognised_and_a_reused_id_is_a_conflict() -> None:
    customer = RegisterCustomer(customer_id="c-1", email="a@b.co", full_name="A", country="FR")
    assert is_replay(fingerprint(customer), customer, "customer c-1") is True
    other = customer.model_copy(update={"email": "other@b.co"})
    with pytest.raises(IdempotencyConflict, match="customer c-1 was already created by a different RegisterCustomer"):
        is_replay(fingerprint(customer), other, "customer c-1")


def test_as_utc_reads_naive_times_as_utc_and_defaults_none() -> None:
    assert as_utc(datetime(2024, 1, 1, 12)) == datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert as_utc(datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))).hour == 10
    default = datetime(2020, 5, 5, tzinfo=UTC)
    assert as_utc(None, default) is default
    assert as_utc(None).tzinfo is UTC
