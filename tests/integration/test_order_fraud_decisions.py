"""The e-commerce app acts on the fraud score of a new order, on the real stack: a BentoML fraud server subprocess
serving a model registered in a throwaway MLflow store, and the same app with that service down or silent."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pandas as pd
import psycopg
import pytest
from app_keys import dev_headers
from ecommerce_shop import open_shop, order_command
from fastapi.testclient import TestClient
from fraud_served import Served
from ports import free_port
from psycopg.rows import dict_row
from redis import Redis

from features.fraud.online import pair_fields
from features.fraud.spec import CUSTOMER_KEY, FEATURE_COLUMNS, TERMINAL_KEY
from features.online_store import AS_OF_FIELD
from ingest.ecommerce.app import create_app
from ingest.ecommerce.commands import FileChargeback
from ingest.ecommerce.context import open_context
from ingest.ecommerce.service import handle
from lakehouse.settings import Settings
from serving.fraud.contract import FraudScoreRequest, score_order

pytestmark = pytest.mark.integration


@pytest.fixture
def served(fraud_served: Served) -> Served:
    return fraud_served  # one server for the run (tests/fraud_served.py)


@pytest.fixture
def ids(unique_name: str) -> dict[str, str]:
    return {kind: f"{kind}-{unique_name}" for kind in ("customer", "product", "order", "terminal")}


@pytest.fixture
def shop(stack_settings: Settings, ids: dict[str, str]) -> dict[str, str]:
    return open_shop(stack_settings, ids)


def order_body(ids: dict[str, str], placed_at: datetime) -> dict:
    return order_command(ids, ids["order"], placed_at).model_dump(mode="json")


@pytest.fixture
def risky_terminal(stack_settings: Settings, shop: dict[str, str]) -> dict[str, str]:
    """The shop's terminal with one order eight days ago (matured: older than the 7-day label delay), charged back
    yesterday: a terminal risk the model was trained to fear (the synthetic fraud follows terminal_risk_7d > 0.07;
    this one's is 1.0)."""
    now = datetime.now(UTC)
    with open_context(stack_settings, actor="test") as ctx:
        handle(order_command(shop, f"{shop['order']}-before", now - timedelta(days=8)), ctx)
        charged = FileChargeback(
            chargeback_id=f"cb-{shop['order']}", order_id=f"{shop['order']}-before", filed_at=now - timedelta(days=1)
        )
        handle(charged, ctx)
    return shop


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A port whose kernel backlog accepts connections while nobody ever reads or answers them."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def app_client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings, fraud_scoring=True), headers=dev_headers("ecommerce"))


def stored_order(settings: Settings, order_id: str) -> dict:
    with psycopg.connect(settings.postgres_url) as conn, conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(
            """SELECT status, version, fraud_score, fraud_decision, fraud_model_version, fraud_features_source,
            fraud_checked_at, fraud_error FROM ecommerce.orders WHERE order_id = %s""",
            (order_id,),
        ).fetchone()


def outbox_statuses(settings: Settings, order_id: str) -> list[tuple[str, str | None]]:
    """The order's events in the outbox as (type, status of a status change)."""
    with psycopg.connect(settings.postgres_url) as conn:
        rows = conn.execute(
            "SELECT event_type, envelope FROM ecommerce.outbox WHERE message_key = %s ORDER BY id", (order_id,)
        ).fetchall()
    return [(kind, json.loads(envelope)["payload"].get("status")) for kind, envelope in rows]


def decisions_counted(served: Served) -> float:
    metrics = httpx.get(f"{served.server.url}/metrics", timeout=10).text.splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics if line.startswith("fraud_decisions_total{"))


def service_answer(
    served: Served, ids: dict[str, str], placed_at: datetime, amount: Decimal = Decimal("40.00")
) -> tuple[float, str, dict]:
    """What the service says about the same order when asked directly, and the score the trained model gives
    the features it used."""
    request = FraudScoreRequest(
        order_id=ids["order"],
        customer_id=ids["customer"],
        terminal_id=ids["terminal"],
        amount=amount,
        placed_at=placed_at,
    )
    settings = served.settings
    direct = score_order(
        request, url=settings.fraud_service_url, api_key=settings.fraud_api_key, timeout_s=settings.fraud_timeout_s
    )
    offline = served.trained.model.predict_proba(pd.DataFrame([direct.features], columns=list(FEATURE_COLUMNS)))
    assert direct.score == pytest.approx(offline[0, 1], rel=1e-12)
    return direct.score, direct.decision, direct.model_dump()


# An ordinary customer and terminal, fresh in the online store, as the synthetic training data knows them; with an
# order below the customer's average amount, on a weekday at noon, the test model approves (checked below).
ORDINARY_CUSTOMER = {
    "customer_orders_1d": 0,
    "customer_orders_7d": 1,
    "customer_orders_30d": 13,
    "customer_spend_1d": 0,
    "customer_spend_7d": 44.5,
    "customer_spend_30d": 578,
    "customer_avg_amount_30d": 44.5,
}
ORDINARY_TERMINAL = {
    "terminal_orders_1d": 3,
    "terminal_orders_7d": 32,
    "terminal_orders_30d": 143,
    "terminal_risk_1d": 0.0,
    "terminal_risk_7d": 0.003,
    "terminal_risk_30d": 0.03,
}
TUESDAY_NOON = datetime(2024, 3, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
def ordinary_shop(stack_settings: Settings, shop: dict[str, str]) -> Iterator[dict[str, str]]:
    redis_client = Redis.from_url(stack_settings.redis_url)
    now = datetime.now(UTC).isoformat()
    for key, values in [
        # A regular at this terminal: 5 orders there in 30 days.
        (
            CUSTOMER_KEY.format(customer_id=shop["customer"]),
            ORDINARY_CUSTOMER | pair_fields({shop["terminal"]: 5}),
        ),
        (TERMINAL_KEY.format(terminal_id=shop["terminal"]), ORDINARY_TERMINAL),
    ]:
        redis_client.hset(key, mapping={name: repr(float(v)) for name, v in values.items()} | {AS_OF_FIELD: now})
        redis_client.expire(key, 600)
    yield shop
    redis_client.close()


def test_an_approved_order_is_stored_with_its_score_and_stays_placed(served, ordinary_shop):
    ids = ordinary_shop
    body = order_command(ids, ids["order"], TUESDAY_NOON, quantity=1, unit_price="35.00").model_dump(mode="json")
    with app_client(served.settings) as client:
        response = client.post("/orders", json=body)
        viewed = client.get(f"/orders/{ids['order']}").json()

    assert response.status_code == 201, response.text
    fraud = response.json()["fraud"]
    score, decision, direct = service_answer(served, ids, TUESDAY_NOON, Decimal("35.00"))
    assert direct["features_source"] == "online"
    assert decision == served.trained.thresholds.decision(score) == "approve", "pick features this model approves"
    assert (fraud["score"], fraud["decision"], fraud["model_version"]) == (score, "approve", "1")
    row = stored_order(served.settings, ids["order"])
    assert (row["fraud_score"], row["fraud_decision"], row["fraud_model_version"]) == (score, "approve", "1")
    assert (row["fraud_features_source"], row["fraud_error"]) == ("online", None)
    assert (row["status"], row["version"]) == ("placed", 2)  # placed, then the verdict recorded
    assert outbox_statuses(served.settings, ids["order"]) == [("ecommerce.order.placed", None)]
    assert viewed["fraud"]["decision"] == "approve" and viewed["fraud"]["score"] == score


def test_an_order_the_model_doubts_is_held_for_review(served, risky_terminal):
    ids, placed_at = risky_terminal, datetime.now(UTC)
    with app_client(served.settings) as client:
        response = client.post("/orders", json=order_body(ids, placed_at))

    assert response.status_code == 201, response.text
    body = response.json()
    score, decision, _ = service_answer(served, ids, placed_at)
    assert decision in {"review", "decline"} and decision == served.trained.thresholds.decision(score)
    assert (body["fraud"]["score"], body["fraud"]["decision"], body["version"]) == (score, decision, 3)
    row = stored_order(served.settings, ids["order"])
    assert (row["status"], row["fraud_score"], row["fraud_decision"]) == ("review", score, decision)
    events = outbox_statuses(served.settings, ids["order"])
    assert events == [
        ("ecommerce.order.placed", None),
        ("ecommerce.order.status_changed", "review"),
        ("ecommerce.order.held", None),
    ]
    assert len(body["event_ids"]) == 3


def assert_accepted_unscored(settings: Settings, ids: dict[str, str], reason: str) -> None:
    with app_client(settings) as client:
        response = client.post("/orders", json=order_body(ids, datetime.now(UTC)))
        viewed = client.get(f"/orders/{ids['order']}")
    assert response.status_code == 201, response.text
    fraud = response.json()["fraud"]
    assert (fraud["decision"], fraud["score"], fraud["model_version"]) == ("unscored", None, None)
    assert reason in fraud["error"]
    row = stored_order(settings, ids["order"])
    assert (row["status"], row["fraud_decision"], row["fraud_score"]) == ("review", "unscored", None)
    assert row["fraud_error"] == fraud["error"] and row["fraud_checked_at"] is not None
    events = outbox_statuses(settings, ids["order"])
    assert events == [
        ("ecommerce.order.placed", None),
        ("ecommerce.order.status_changed", "review"),
        ("ecommerce.order.held", None),
    ]
    assert viewed.status_code == 200 and viewed.json()["status"] == "review"


def test_with_the_service_down_the_order_is_accepted_unscored_for_review(stack_settings, shop):
    nobody = f"http://127.0.0.1:{free_port()}"
    assert_accepted_unscored(stack_settings.model_copy(update={"fraud_service_url": nobody}), shop, "unreachable")


def test_a_silent_service_times_out_and_the_order_is_accepted_unscored(stack_settings, shop, silent_url):
    settings = stack_settings.model_copy(update={"fraud_service_url": silent_url, "fraud_timeout_s": 0.3})
    assert_accepted_unscored(settings, shop, "did not answer within 0.3s")


def test_a_replayed_order_is_not_scored_again_and_returns_the_first_verdict(served, shop):
    body = order_body(shop, datetime.now(UTC))
    with app_client(served.settings) as client:
        first = client.post("/orders", json=body)
        row_before, counted_before = stored_order(served.settings, shop["order"]), decisions_counted(served)
        again = client.post("/orders", json=body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["outcome"] == "unchanged" and again.json()["event_ids"] == []
    assert again.json()["fraud"] == first.json()["fraud"]
    assert decisions_counted(served) == counted_before >= 1
    assert stored_order(served.settings, shop["order"]) == row_before


def test_generated_history_is_not_scored(stack_settings, shop):
    # The generator's and importer's context: scoring off, whatever the fraud service's state.
    with open_context(stack_settings, actor="test:generator") as ctx:
        accepted = handle(order_command(shop, shop["order"], datetime(2024, 3, 1, tzinfo=UTC)), ctx)
    assert accepted.fraud is None
    row = stored_order(stack_settings, shop["order"])
    assert (row["status"], row["version"], row["fraud_decision"], row["fraud_checked_at"]) == ("placed", 1, None, None)
