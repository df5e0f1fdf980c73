"""The fraud service over HTTP on the real stack: a BentoML server subprocess serving a model registered in a
throwaway MLflow store, features from the real Redis, the PostgreSQL fallback fed by the e-commerce use cases."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pandas as pd
import pytest
from ecommerce_shop import open_shop
from fraud_served import API_KEY, TTL_S, Served
from redis import Redis

from features.fraud.online import pair_fields
from features.fraud.spec import CUSTOMER_KEY, FEATURE_COLUMNS, TERMINAL_KEY
from features.online_store import AS_OF_FIELD
from ingest.ecommerce.commands import FileChargeback, OrderLine, PlaceOrder
from ingest.ecommerce.context import open_context
from ingest.ecommerce.service import handle
from lakehouse.settings import Settings
from serving.fraud.contract import MAX_BATCH_ORDERS, FraudScoreRequest, FraudServiceError, score_order

pytestmark = pytest.mark.integration

SATURDAY_NIGHT = datetime(2024, 3, 2, 3, 30, tzinfo=UTC)


@pytest.fixture
def served(fraud_served: Served) -> Served:
    return fraud_served  # one server for the run (tests/fraud_served.py)


@pytest.fixture
def redis_client(stack_settings: Settings) -> Iterator[Redis]:
    client = Redis.from_url(stack_settings.redis_url)
    yield client
    client.close()


@pytest.fixture
def ids(unique_name: str) -> dict[str, str]:
    return {
        "customer": f"c-{unique_name}",
        "terminal": f"t-{unique_name}",
        "product": f"p-{unique_name}",
        "order": f"o-{unique_name}",
    }


@pytest.fixture
def history(served: Served, ids: dict[str, str]) -> dict[str, float]:
    """Four orders of a new customer on a new terminal (2 hours, 3 days, 7.5 and 10 days ago), the one of 7.5 days ago
    charged back an hour ago; returns the customer and terminal features an order placed now must get from
    PostgreSQL, worked out by hand (terminal risk looks at orders older than the 7-day label delay)."""
    now = datetime.now(UTC)
    open_shop(served.settings, ids, price="15.00")
    with open_context(served.settings, actor="test") as ctx:
        for number, (ago, quantity, price) in enumerate(
            [
                (timedelta(hours=2), 2, "15.00"),
                (timedelta(days=3), 1, "50.00"),
                (timedelta(days=7.5), 1, "20.00"),
                (timedelta(days=10), 1, "20.00"),
            ]
        ):
            line = OrderLine(product_id=ids["product"], category="home", quantity=quantity, unit_price=Decimal(price))
            order = PlaceOrder(
                order_id=f"{ids['order']}-{number}",
                customer_id=ids["customer"],
                merchant_id="m-1",
                terminal_id=ids["terminal"],
                card_number="4111111111111111",
                lines=[line],
                placed_at=now - ago,
            )
            handle(order, ctx)
        handle(
            FileChargeback(
                chargeback_id=f"cb-{ids['order']}", order_id=f"{ids['order']}-2", filed_at=now - timedelta(hours=1)
            ),
            ctx,
        )
    customer = {
        "customer_orders_1d": 1,
        "customer_orders_7d": 2,
        "customer_orders_30d": 4,
        "customer_spend_1d": 30,
        "customer_spend_7d": 80,
        "customer_spend_30d": 120,
        "customer_avg_amount_30d": 30,
        "customer_terminal_orders_30d": 4,  # all four at this terminal
        "new_terminal_for_customer_30d": 0,
    }
    terminal = {
        "terminal_orders_1d": 1,
        "terminal_orders_7d": 2,
        "terminal_orders_30d": 4,
        "terminal_risk_1d": 1.0,  # of the orders placed 7 to 8 days ago (7.5): charged back
        "terminal_risk_7d": 0.5,  # 7 to 14 days ago: 7.5 charged back, 10 not
        "terminal_risk_30d": 0.5,
    }
    return customer | terminal


def own_features(amount: float, customer_avg: float, placed_at: datetime) -> dict[str, float]:
    return {
        "amount": amount,
        "amount_to_customer_avg_30d": amount / customer_avg,
        "hour_of_day": placed_at.hour,
        "is_weekend": float(placed_at.weekday() >= 5),
        "is_night": float(placed_at.hour < 6),
    }


def write_online(redis_client: Redis, key: str, values: dict[str, float], as_of: datetime) -> None:
    redis_client.hset(
        key, mapping={name: repr(float(v)) for name, v in values.items()} | {AS_OF_FIELD: as_of.isoformat()}
    )
    redis_client.expire(key, 600)


def body(ids: dict[str, str], amount: str, placed_at: datetime) -> dict[str, str]:
    return {
        "order_id": ids["order"],
        "customer_id": ids["customer"],
        "terminal_id": ids["terminal"],
        "amount": amount,
        "placed_at": placed_at.isoformat(),
    }


ONLINE_CUSTOMER = {
    "customer_orders_1d": 1,
    "customer_orders_7d": 2,
    "customer_orders_30d": 3,
    "customer_spend_1d": 10,
    "customer_spend_7d": 20,
    "customer_spend_30d": 30,
    "customer_avg_amount_30d": 10,
}
# The customer's hash also holds its count at the order's terminal: 2, so not a first use.
ONLINE_PAIR = {"customer_terminal_orders_30d": 2.0, "new_terminal_for_customer_30d": 0.0}


def online_pair_fields(terminal_id: str) -> dict[str, float]:
    return {name: float(value) for name, value in pair_fields({terminal_id: 2}).items()}


def online_customer(terminal_id: str) -> dict[str, float]:
    return ONLINE_CUSTOMER | online_pair_fields(terminal_id)


ONLINE_TERMINAL = {
    "terminal_orders_1d": 5,
    "terminal_orders_7d": 6,
    "terminal_orders_30d": 7,
    "terminal_risk_1d": 0.1,
    "terminal_risk_7d": 0.2,
    "terminal_risk_30d": 0.3,
}


def test_fresh_online_features_are_served_and_scored_like_the_model_offline(served, redis_client, ids):
    now = datetime.now(UTC)
    write_online(redis_client, CUSTOMER_KEY.format(customer_id=ids["customer"]), online_customer(ids["terminal"]), now)
    write_online(redis_client, TERMINAL_KEY.format(terminal_id=ids["terminal"]), ONLINE_TERMINAL, now)

    response = served.post(body(ids, "25.00", SATURDAY_NIGHT))

    assert response.status_code == 200, response.text
    answer = response.json()
    expected = own_features(25.0, 10.0, SATURDAY_NIGHT) | ONLINE_CUSTOMER | ONLINE_TERMINAL | ONLINE_PAIR
    assert answer["features"] == pytest.approx(expected) and list(answer["features"]) == list(FEATURE_COLUMNS)
    offline = served.trained.model.predict_proba(pd.DataFrame([expected], columns=list(FEATURE_COLUMNS)))[0, 1]
    assert answer["score"] == pytest.approx(offline, rel=1e-12)
    assert answer["decision"] == served.trained.thresholds.decision(offline)
    assert (answer["order_id"], answer["features_source"]) == (ids["order"], "online")
    assert (answer["model_name"], answer["model_version"]) == ("ecommerce-fraud", "1")


def test_an_entity_missing_online_is_computed_from_postgres(served, history, ids):
    placed_at = datetime.now(UTC)
    answer = served.post(body(ids, "120.00", placed_at)).json()
    assert answer["features_source"] == "fallback:missing"
    assert answer["features"] == pytest.approx(own_features(120.0, 30.0, placed_at) | history)


def test_only_the_entity_missing_online_is_recomputed(served, history, redis_client, ids):
    customer_key = CUSTOMER_KEY.format(customer_id=ids["customer"])
    write_online(redis_client, customer_key, online_customer(ids["terminal"]), datetime.now(UTC))
    placed_at = datetime.now(UTC)
    answer = served.post(body(ids, "120.00", placed_at)).json()
    assert answer["features_source"] == "fallback:missing"
    terminal_from_postgres = {name: value for name, value in history.items() if name.startswith("terminal_")}
    assert answer["features"] == pytest.approx(
        own_features(120.0, 10.0, placed_at) | ONLINE_CUSTOMER | ONLINE_PAIR | terminal_from_postgres
    )


def test_stale_online_features_are_replaced_by_postgres(served, history, redis_client, ids):
    too_old = datetime.now(UTC) - timedelta(seconds=2 * TTL_S)
    write_online(
        redis_client,
        CUSTOMER_KEY.format(customer_id=ids["customer"]),
        dict.fromkeys(ONLINE_CUSTOMER, 999) | online_pair_fields(ids["terminal"]),
        too_old,
    )
    write_online(
        redis_client, TERMINAL_KEY.format(terminal_id=ids["terminal"]), dict.fromkeys(ONLINE_TERMINAL, 999), too_old
    )
    placed_at = datetime.now(UTC)
    answer = served.post(body(ids, "120.00", placed_at)).json()
    assert answer["features_source"] == "fallback:stale"
    assert answer["features"] == pytest.approx(own_features(120.0, 30.0, placed_at) | history)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "-5"),
        ("amount", "0"),
        ("amount", "lots"),
        ("placed_at", "yesterday"),
        ("customer_id", ""),
        ("order_id", None),
    ],
)
def test_invalid_input_is_a_4xx_naming_the_field(served, ids, field, value):
    request = body(ids, "10.00", SATURDAY_NIGHT) | {field: value}
    if value is None:
        del request[field]
    response = served.post(request)
    assert 400 <= response.status_code < 500
    assert [error["loc"][0] for error in response.json()["detail"]] == [field]


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_scoring_needs_the_api_key(served, ids, key):
    response = served.post(body(ids, "10.00", SATURDAY_NIGHT), key=key)
    assert response.status_code == 401 and "Authorization: Bearer" in response.json()["error"]


@pytest.mark.parametrize("path", ["/docs", "/docs.json", "/metrics", "/readyz"])
def test_docs_probes_and_metrics_need_no_key(served, path):
    assert httpx.get(f"{served.server.url}{path}", follow_redirects=True).status_code == 200


def test_decisions_are_counted_in_the_metrics(served, ids):
    decision = served.post(body(ids, "10.00", SATURDAY_NIGHT)).json()["decision"]
    metrics = httpx.get(f"{served.server.url}/metrics").text
    assert f'fraud_decisions_total{{decision="{decision}"}}' in metrics


def test_the_client_returns_a_typed_result_and_raises_on_http_errors(served, ids):
    request = FraudScoreRequest(
        order_id=ids["order"],
        customer_id=ids["customer"],
        terminal_id=ids["terminal"],
        amount=Decimal("10.00"),
        placed_at=SATURDAY_NIGHT,
    )
    result = score_order(request, url=served.server.url, api_key=API_KEY, timeout_s=served.settings.fraud_timeout_s)
    assert (result.order_id, result.features_source, result.model_version) == (ids["order"], "fallback:missing", "1")
    with pytest.raises(FraudServiceError, match="401") as raised:
        score_order(request, url=served.server.url, api_key="wrong", timeout_s=served.settings.fraud_timeout_s)
    assert raised.value.status_code == 401


def post_batch(served: Served, orders: list[dict], key: str | None = API_KEY) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{served.server.url}/score/batch", json={"orders": orders}, headers=headers, timeout=10)


def test_a_batch_answers_each_order_as_score_does_in_the_order_sent(served, history, redis_client, ids):
    online = {"customer": f"{ids['customer']}-online", "terminal": f"{ids['terminal']}-online"}
    customer_key = CUSTOMER_KEY.format(customer_id=online["customer"])
    write_online(redis_client, customer_key, online_customer(online["terminal"]), datetime.now(UTC))
    write_online(redis_client, TERMINAL_KEY.format(terminal_id=online["terminal"]), ONLINE_TERMINAL, datetime.now(UTC))
    placed_at = datetime.now(UTC)
    orders = [
        body(ids | online | {"order": f"{ids['order']}-a"}, "25.00", SATURDAY_NIGHT),
        body(ids | {"order": f"{ids['order']}-b"}, "120.00", placed_at),  # nothing online: PostgreSQL
        body(ids | online | {"order": f"{ids['order']}-c"}, "99.99", placed_at),
    ]

    response = post_batch(served, orders)

    assert response.status_code == 200, response.text
    answers = response.json()["scores"]
    assert [a["order_id"] for a in answers] == [o["order_id"] for o in orders]
    assert [a["features_source"] for a in answers] == ["online", "fallback:missing", "online"]
    assert answers[0]["features"] == pytest.approx(
        own_features(25.0, 10.0, SATURDAY_NIGHT) | ONLINE_CUSTOMER | ONLINE_TERMINAL | ONLINE_PAIR
    )
    assert answers[1]["features"] == pytest.approx(own_features(120.0, 30.0, placed_at) | history)
    for order, answer in zip(orders, answers, strict=True):
        alone = served.post(order).json()
        assert (answer["score"], answer["decision"], answer["features"]) == (
            alone["score"],
            alone["decision"],
            alone["features"],
        )


def test_a_batch_past_the_bound_is_a_413_saying_so(served, ids):
    order = body(ids, "10.00", SATURDAY_NIGHT)
    response = post_batch(served, [order] * (MAX_BATCH_ORDERS + 1))
    assert response.status_code == 413
    assert f"at most {MAX_BATCH_ORDERS} orders" in response.json()["error"]
    empty = post_batch(served, [])
    assert 400 <= empty.status_code < 500 and empty.json()["detail"][0]["loc"] == ["orders"]


def test_a_batch_needs_the_api_key_and_is_documented(served, ids):
    response = post_batch(served, [body(ids, "10.00", SATURDAY_NIGHT)], key="wrong-key")
    assert response.status_code == 401
    spec = httpx.get(f"{served.server.url}/docs.json").json()
    assert {"/score", "/score/batch"} <= set(spec["paths"])


def decisions_total(served: Served) -> float:
    metrics = httpx.get(f"{served.server.url}/metrics").text
    return sum(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("fraud_decisions_total{"))


def test_decisions_add_up_across_the_workers(served, ids):
    assert served.settings.fraud_workers == 2
    before = decisions_total(served)

    async def post_all(orders: list[dict]) -> list[int]:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with httpx.AsyncClient(base_url=served.server.url, headers=headers, timeout=10) as client:
            answers = await asyncio.gather(*(client.post("/score", json=order) for order in orders))
        return [answer.status_code for answer in answers]

    # The kernel hands connections to the workers unevenly: one round of 30 may all land on one of them, so send
    # rounds until both have answered (each round counted), up to a bound that a single worker never passes.
    sent, served_by = 0, set()
    for round_ in range(10):
        orders = [body(ids | {"order": f"{ids['order']}-{round_}-{n}"}, "10.00", SATURDAY_NIGHT) for n in range(30)]
        assert asyncio.run(post_all(orders)) == [200] * len(orders)
        sent += len(orders)
        served_by = {line.split("[entry_service:fraud:")[1][0] for line in log_lines(served, "path=/score")}
        if served_by == {"1", "2"}:
            break
    assert post_batch(served, orders[:5]).status_code == 200
    assert decisions_total(served) - before == sent + 5
    assert served_by == {"1", "2"}  # both workers answered, and /metrics counted both


def log_lines(served: Served, containing: str) -> list[str]:
    return [line for line in served.server.log_path.read_text().splitlines() if containing in line]
