"""The pure parts of an order's fraud check: what is sent, what holds an order for review, what an unusable order
or answer becomes, and how the verdict reaches the HTTP response and the order view."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from ingest.ecommerce.api_models import AcceptedOut
from ingest.ecommerce.commands import OrderLine, PlaceOrder
from ingest.ecommerce.context import FraudScoring
from ingest.ecommerce.fraud_check import ask_fraud_service, holds_for_review, score_request, unscored
from ingest.ecommerce.order_store import fraud_view
from ingest.ecommerce.unit_of_work import Accepted, FraudVerdict
from lakehouse.settings import Settings

PLACED_AT = datetime(2024, 3, 2, 3, 30, tzinfo=UTC)


def order(unit_price: str = "12.50", quantity: int = 3) -> PlaceOrder:
    line = OrderLine(product_id="p-1", category="books", quantity=quantity, unit_price=Decimal(unit_price))
    return PlaceOrder(
        order_id="o-1",
        customer_id="c-1",
        merchant_id="m-1",
        terminal_id="t-9",
        card_number="4111111111111111",
        lines=[line, line],
        placed_at=None,
    )


def test_the_request_carries_the_order_total_and_the_stored_placement_time():
    request = score_request(order(), PLACED_AT)
    assert (request.order_id, request.customer_id, request.terminal_id) == ("o-1", "c-1", "t-9")
    assert request.amount == Decimal("75.00")  # two lines of 3 x 12.50
    assert request.placed_at == PLACED_AT


@pytest.mark.parametrize(
    ("decision", "held"), [("approve", False), ("review", True), ("decline", True), ("unscored", True)]
)
def test_anything_but_an_approval_holds_the_order_for_review(decision, held):
    assert holds_for_review(FraudVerdict(decision=decision, checked_at=PLACED_AT)) is held


def test_an_order_the_service_contract_cannot_express_is_unscored_without_a_call():
    # 10^10 is past the contract's 12 digits; the client is closed, so any call would raise instead of returning.
    closed = httpx.Client()
    closed.close()
    scoring = FraudScoring(Settings(fraud_service_url="http://127.0.0.1:9"), closed)
    verdict = ask_fraud_service(order("5000000000.00", 1), PLACED_AT, scoring)
    assert (verdict.decision, verdict.score, verdict.model_version) == ("unscored", None, None)
    assert "amount" in verdict.error


def test_the_response_carries_the_verdict_and_stays_compatible_without_one():
    verdict = unscored("fraud service unreachable", PLACED_AT)
    with_fraud = AcceptedOut(**asdict(Accepted("order", "o-1", "created", 3, ("e-1", "e-2"), verdict)))
    assert with_fraud.model_dump(mode="json")["fraud"] == {
        "decision": "unscored",
        "score": None,
        "model_version": None,
        "features_source": None,
        "checked_at": "2024-03-02T03:30:00Z",
        "error": "fraud service unreachable",
    }
    without = AcceptedOut(**asdict(Accepted("customer", "c-1", "created", 1, ("e-1",))))
    assert without.fraud is None and without.event_ids == ["e-1"]


def test_the_order_view_nests_the_fraud_columns_and_hides_them_when_never_checked():
    columns = {
        "fraud_decision": "review",
        "fraud_score": 0.42,
        "fraud_model_version": "3",
        "fraud_features_source": "online",
        "fraud_checked_at": PLACED_AT,
        "fraud_error": None,
    }
    header = {"order_id": "o-1"} | columns
    assert fraud_view(header) == {
        "decision": "review",
        "score": 0.42,
        "model_version": "3",
        "features_source": "online",
        "checked_at": PLACED_AT,
        "error": None,
    }
    assert header == {"order_id": "o-1"}
    never_checked = {"order_id": "o-2"} | dict.fromkeys(columns)
    assert fraud_view(never_checked) is None and never_checked == {"order_id": "o-2"}
