"""A bulk-import batch without a database: the rows and events staged for each command, and skipping what a
previous run committed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from ingest.core.bulk import EVENTS
from ingest.core.idempotency import fingerprint
from ingest.ecommerce.bulk_batch import CHARGEBACKS, ORDERS, PAYMENTS, BatchBuilder
from ingest.ecommerce.bulk_feed import CommandFeed
from ingest.ecommerce.commands import CapturePayment, FileChargeback, OrderLine, PlaceOrder, RegisterCustomer

PLACED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CARD_KEY = "a-test-card-token-key"


def order(order_id: str = "o-1", price: str = "12.50") -> PlaceOrder:
    line = OrderLine(product_id="p-books", category="books", quantity=2, unit_price=Decimal(price))
    return PlaceOrder(
        order_id=order_id,
        customer_id="c-1",
        merchant_id="m-1",
        terminal_id="t-1",
        card_number="4111111111111111",
        lines=[line],
        placed_at=PLACED_AT,
    )


def payment(order_id: str = "o-1") -> CapturePayment:
    return CapturePayment(payment_id=f"pay-{order_id}", order_id=order_id, captured_at=PLACED_AT)


def chargeback(order_id: str = "o-1") -> FileChargeback:
    return FileChargeback(chargeback_id=f"cb-{order_id}", order_id=order_id, filed_at=PLACED_AT + timedelta(days=7))


def staged(builder: BatchBuilder, table_name: str) -> list[list[str]]:
    return [line.rstrip("\n").split("\t") for line in builder.batch.copies[table_name]]


def events(builder: BatchBuilder) -> list[tuple[str, str, dict[str, object]]]:
    texts = [row[-1] for row in staged(builder, EVENTS.name)]
    return [(e["type"], e["key"], e["payload"]) for e in map(json.loads, texts)]


def test_an_order_is_staged_paid_with_its_payment_and_chargeback_events_in_order() -> None:
    builder = BatchBuilder(CARD_KEY)
    builder.place_order(order(), line=2)
    builder.capture_payment(payment(), line=2)
    builder.file_chargeback(chargeback(), order(), line=2)

    [staged_order] = staged(builder, ORDERS.name)
    tokenised = order().protected(CARD_KEY)
    assert staged_order[1] == "o-1" and staged_order[5:8] == ["1111", tokenised.card_token, "visa"]
    assert staged_order[8] == "25.00" and staged_order[10:12] == ["paid", "2"]
    assert staged_order[-1] == fingerprint(tokenised)
    assert staged(builder, PAYMENTS.name)[0][1:5] == ["1", "pay-o-1", "o-1", "25.00"]
    assert staged(builder, CHARGEBACKS.name)[0][1] == fingerprint(tokenised)
    # The card number is in no staged row and no event: only its token, last four digits and brand.
    assert not any("4111111111111111" in line for copies in builder.batch.copies.values() for line in copies)
    assert {k: events(builder)[0][2][k] for k in ("card_token", "card_last4", "card_brand")} == {
        "card_token": tokenised.card_token,
        "card_last4": "1111",
        "card_brand": "visa",
    }
    kinds = [(kind, key, payload.get("status")) for kind, key, payload in events(builder)]
    assert kinds == [
        ("ecommerce.order.placed", "o-1", None),
        ("ecommerce.payment.captured", "o-1", None),
        ("ecommerce.order.status_changed", "o-1", "paid"),
        ("ecommerce.chargeback.filed", "o-1", None),
        ("ecommerce.order.status_changed", "o-1", "chargeback"),
    ]
    assert events(builder)[3][2] == {
        "chargeback_id": "cb-o-1",
        "order_id": "o-1",
        "reason": "fraud",
        "amount": "25.00",
        "filed_at": "2026-03-08T12:00:00Z",
    }
    assert builder.take().rows == 1 and builder.batch.rows == 0


def test_event_payloads_are_validated_by_the_contract() -> None:
    with pytest.raises(ValidationError, match="amount"):
        BatchBuilder(CARD_KEY).place_order(order(price="0"), line=2)


def test_a_payment_must_follow_its_order() -> None:
    builder = BatchBuilder(CARD_KEY)
    builder.place_order(order("o-1"), line=2)
    with pytest.raises(ValueError, match="does not follow"):
        builder.capture_payment(payment("o-2"), line=3)


def test_the_feed_skips_committed_commands_but_still_charges_back_their_orders() -> None:
    builder = BatchBuilder(CARD_KEY)
    feed = CommandFeed(builder, ctx=None, skip=3)  # type: ignore[arg-type]  # no product in this stream
    customer = RegisterCustomer(customer_id="c-1", email="a@b.example", full_name="A", country="FR")
    feed.at_row(2, (order("o-1"), payment("o-1"), chargeback("o-1")))
    for command in (customer, order("o-1"), payment("o-1")):
        feed(command)
    feed.at_row(3, (order("o-2"), payment("o-2"), None))
    for command in (order("o-2"), payment("o-2"), chargeback("o-1")):
        feed(command)

    assert feed.consumed == 6
    assert [row[1] for row in staged(builder, ORDERS.name)] == ["o-2"]
    assert [row[3] for row in staged(builder, CHARGEBACKS.name)] == ["o-1"]
    assert builder.batch.lines == {1: 3, 2: 3, 3: 2}  # seq -> CSV line, for rejects
