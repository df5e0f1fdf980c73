"""The online store and its fallback on the real stack: Redis values equal the offline features an order placed at
``as_of`` gets, keys expire, stale and missing entries are reported, and PostgreSQL answers the same numbers.

Every customer and terminal id carries the test's unique name, so runs and other tests never share a key or a row.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from pyspark.sql import DataFrame, SparkSession
from redis import Redis

from features.fraud.fallback import customer_features_from_postgres, terminal_features_from_postgres
from features.fraud.offline import build_fraud_features
from features.fraud.online import (
    latest_entity_features,
    pair_fields,
    read_online_features,
    read_online_features_many,
    write_online,
)
from features.fraud.spec import (
    CUSTOMER_FEATURES,
    CUSTOMER_KEY,
    PAIR_FEATURES,
    PAIR_FIELD,
    PAIR_LAYOUT_FIELD,
    TERMINAL_FEATURES,
    TERMINAL_KEY,
)
from features.online_store import AS_OF_FIELD
from ingest.domains import storage_declarations
from ingest.ecommerce.commands import FileChargeback, OrderLine, PlaceOrder, RegisterCustomer, UpsertProduct
from ingest.ecommerce.context import open_context
from ingest.ecommerce.service import handle
from lakehouse.settings import Settings
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration
AS_OF = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ORDERS_SCHEMA = "order_id string, customer_id string, terminal_id string, amount decimal(18,2), placed_at timestamp"
CHARGEBACKS_SCHEMA = "order_id string, filed_at timestamp"


def history(name: str) -> tuple[list[tuple[str, str, str, Decimal, datetime]], dict[str, datetime]]:
    """Orders of two customers at three terminals over 40 days, and when some of them were charged back (with the
    default 7-day label delay, terminal risk at ``AS_OF`` looks at orders placed in ``[AS_OF - 7 - d, AS_OF - 7)``).
    Only c2 used t3, 31 days ago: at ``AS_OF`` both customers' next order there is a first use in 30 days."""
    c1, c2, t1, t2, t3 = f"c1-{name}", f"c2-{name}", f"t1-{name}", f"t2-{name}", f"t3-{name}"
    orders = [
        (f"o10-{name}", c2, t3, Decimal("7.00"), AS_OF - 31 * DAY),
        (f"o1-{name}", c1, t1, Decimal("0.10"), AS_OF - 35 * DAY),
        (f"o2-{name}", c1, t1, Decimal("0.20"), AS_OF - 30 * DAY),
        (f"o9-{name}", c2, t2, Decimal("5.00"), AS_OF - 12 * DAY),
        (f"o8-{name}", c2, t2, Decimal("40.00"), AS_OF - 10 * DAY),
        (f"o3-{name}", c1, t2, Decimal("19.99"), AS_OF - 6 * DAY),
        (f"o4-{name}", c2, t1, Decimal("250.00"), AS_OF - 5 * DAY),
        (f"o5-{name}", c2, t1, Decimal("12.35"), AS_OF - DAY),
        (f"o6-{name}", c1, t1, Decimal("0.70"), AS_OF - timedelta(hours=3)),
        (f"o7-{name}", c2, t2, Decimal("3.33"), AS_OF - timedelta(seconds=1)),
    ]
    filed = {
        f"o2-{name}": AS_OF - 20 * DAY,
        f"o8-{name}": AS_OF - 3 * DAY,
        f"o4-{name}": AS_OF - 2 * DAY,
        f"o5-{name}": AS_OF + DAY,  # after as_of: not known yet
    }
    return orders, filed


def offline_probe(spark: SparkSession, orders: list[tuple], filed: dict[str, datetime]) -> dict[tuple[str, str], dict]:
    """Offline features of one extra order per (customer, terminal) placed exactly at as_of: the reference."""
    customers, terminals = sorted({row[1] for row in orders}), sorted({row[2] for row in orders})
    pairs = [(customer, terminal) for customer in customers for terminal in terminals]
    probes = [(f"probe-{c}-{t}", c, t, Decimal("1.00"), AS_OF) for c, t in pairs]
    frame = build_fraud_features(spark.createDataFrame(orders + probes, ORDERS_SCHEMA), chargebacks(spark, filed))
    by_order = {row["order_id"]: row.asDict() for row in frame.collect()}
    return {(c, t): by_order[f"probe-{c}-{t}"] for c, t in pairs}


def chargebacks(spark: SparkSession, filed: dict[str, datetime]) -> DataFrame:
    return spark.createDataFrame(list(filed.items()), CHARGEBACKS_SCHEMA)


@pytest.fixture
def redis_client(stack_settings: Settings, unique_name: str) -> Iterator[Redis]:
    client = Redis.from_url(stack_settings.redis_url, socket_timeout=10)
    yield client
    keys = list(client.scan_iter(match=f"features:fraud:*{unique_name}"))
    if keys:
        client.delete(*keys)
    client.close()


def test_materialised_features_read_back_as_the_offline_values(
    spark: SparkSession, redis_client: Redis, stack_settings: Settings, unique_name: str
) -> None:
    orders, filed = history(unique_name)
    customers, terminals = latest_entity_features(
        spark.createDataFrame(orders, ORDERS_SCHEMA), chargebacks(spark, filed), AS_OF
    )
    ttl = stack_settings.online_feature_ttl_s
    assert write_online(redis_client, customers, terminals, ttl, AS_OF) == 5

    expected_by_pair = offline_probe(spark, orders, filed)
    c1_t1 = expected_by_pair[(orders[1][1], orders[1][2])]  # by hand: o2 (exactly 30 days old), o3, o6; o1 too old
    assert (c1_t1["customer_orders_30d"], c1_t1["customer_spend_30d"]) == (3.0, 20.89)
    assert (c1_t1["customer_terminal_orders_30d"], c1_t1["new_terminal_for_customer_30d"]) == (2.0, 0.0)  # o2, o6
    c2_t3 = expected_by_pair[(orders[0][1], orders[0][2])]
    assert (c2_t3["customer_terminal_orders_30d"], c2_t3["new_terminal_for_customer_30d"]) == (0.0, 1.0)
    # Activity counts the last 7 days (o4, o5, o6); risk only matured orders: none in [-14, -7) at t1, and in
    # [-37, -7) o1 and o2 (o1 is older than the 30-day activity window), of which o2's chargeback is known.
    assert (c1_t1["terminal_orders_7d"], c1_t1["terminal_risk_7d"], c1_t1["terminal_risk_30d"]) == (3.0, 0.0, 1 / 2)
    c2_t2 = expected_by_pair[(orders[3][1], orders[3][2])]  # o9 and o8 matured at t2, o8 charged back 3 days ago
    assert (c2_t2["terminal_orders_7d"], c2_t2["terminal_risk_7d"], c2_t2["terminal_risk_1d"]) == (2.0, 1 / 2, 0.0)
    for (customer, terminal), expected in expected_by_pair.items():
        online = read_online_features(redis_client, customer, terminal, now=AS_OF + timedelta(minutes=5), max_age_s=ttl)
        assert online.fresh and online.customer.as_of == AS_OF
        assert online.customer.values == {name: expected[name] for name in CUSTOMER_FEATURES}
        assert online.terminal.values == {name: expected[name] for name in TERMINAL_FEATURES}
        assert online.pair == {name: expected[name] for name in PAIR_FEATURES}
        for key in (CUSTOMER_KEY.format(customer_id=customer), TERMINAL_KEY.format(terminal_id=terminal)):
            assert 0 < redis_client.ttl(key) <= ttl


def test_stale_and_missing_entries_are_reported(
    spark: SparkSession, redis_client: Redis, stack_settings: Settings, unique_name: str
) -> None:
    orders, filed = history(unique_name)
    customers, terminals = latest_entity_features(
        spark.createDataFrame(orders, ORDERS_SCHEMA), chargebacks(spark, filed), AS_OF
    )
    write_online(redis_client, customers, terminals, stack_settings.online_feature_ttl_s, AS_OF)
    customer, terminal = orders[1][1], orders[1][2]

    later = read_online_features(redis_client, customer, terminal, now=AS_OF + timedelta(hours=2), max_age_s=3600)
    assert (later.customer.status, later.terminal.status) == ("stale", "stale") and not later.fresh
    assert later.customer.values is not None  # kept, so the service can log what it replaced

    unknown = read_online_features(redis_client, f"nobody-{unique_name}", terminal, now=AS_OF, max_age_s=3600)
    assert unknown.customer.status == "missing" and unknown.customer.values is None
    assert unknown.terminal.status == "fresh"

    redis_client.hset(TERMINAL_KEY.format(terminal_id=terminal), "terminal_risk_7d", "not-a-number")
    garbled = read_online_features(redis_client, customer, terminal, now=AS_OF, max_age_s=3600)
    assert (garbled.customer.status, garbled.terminal.status) == ("fresh", "missing")
    # A garbled count at a terminal spoils the customer's entry (the fallback recomputes it), not its neighbours'.
    redis_client.hset(CUSTOMER_KEY.format(customer_id=customer), PAIR_FIELD.format(terminal_id=terminal), "x")
    spoiled = read_online_features(redis_client, customer, terminal, now=AS_OF, max_age_s=3600)
    assert (spoiled.customer.status, spoiled.pair) == ("missing", None)
    elsewhere = read_online_features(redis_client, customer, orders[0][2], now=AS_OF, max_age_s=3600)
    assert elsewhere.customer.status == "fresh" and elsewhere.pair is not None
    # A hash from before the pair counts (no layout mark) must not read as a first use: the fallback recomputes it.
    redis_client.hdel(CUSTOMER_KEY.format(customer_id=customer), PAIR_LAYOUT_FIELD)
    older = read_online_features(redis_client, customer, orders[0][2], now=AS_OF, max_age_s=3600)
    assert (older.customer.status, older.pair) == ("missing", None)


def test_a_rewrite_drops_the_terminals_a_customer_no_longer_used(
    spark: SparkSession, redis_client: Redis, stack_settings: Settings, unique_name: str
) -> None:
    orders, filed = history(unique_name)
    frame, known = spark.createDataFrame(orders, ORDERS_SCHEMA), chargebacks(spark, filed)
    ttl = stack_settings.online_feature_ttl_s
    customer, terminal = orders[0][1], orders[0][2]  # c2 at t3: o10, placed 31 days before AS_OF
    earlier = AS_OF - 2 * DAY
    write_online(redis_client, *latest_entity_features(frame, known, earlier), ttl, earlier)
    assert read_online_features(redis_client, customer, terminal, earlier, ttl).pair[PAIR_FEATURES[0]] == 1.0
    # Two days later o10 has left the window, and c2 still has orders in it: its hash is rewritten without t3.
    write_online(redis_client, *latest_entity_features(frame, known, AS_OF), ttl, AS_OF)
    assert redis_client.hget(CUSTOMER_KEY.format(customer_id=customer), PAIR_FIELD.format(terminal_id=terminal)) is None
    again = read_online_features(redis_client, customer, terminal, AS_OF, ttl)
    assert again.customer.status == "fresh" and again.pair == {PAIR_FEATURES[0]: 0.0, PAIR_FEATURES[1]: 1.0}


def place_history(settings: Settings, name: str, orders: list[tuple], filed: dict[str, datetime]) -> None:
    """The same orders and chargebacks, through the e-commerce app's use cases."""
    with open_context(settings, actor="test:fraud-features") as ctx:
        product = f"p-{name}"
        handle(
            UpsertProduct(product_id=product, sku=product, name="Tea", category="food", merchant_id="m1", price=1), ctx
        )
        for customer in sorted({row[1] for row in orders}):
            handle(
                RegisterCustomer(customer_id=customer, email=f"{customer}@shop.test", full_name="A", country="FR"), ctx
            )
        for order_id, customer, terminal, amount, placed_at in orders:
            line = OrderLine(product_id=product, category="food", quantity=1, unit_price=amount)
            card = "4111111111111111"
            command = PlaceOrder(
                order_id=order_id,
                customer_id=customer,
                merchant_id="m1",
                terminal_id=terminal,
                card_number=card,
                lines=[line],
                placed_at=placed_at,
            )
            handle(command, ctx)
        for order_id, filed_at in filed.items():
            handle(FileChargeback(chargeback_id=f"cb-{order_id}", order_id=order_id, filed_at=filed_at), ctx)


def test_postgres_fallback_equals_the_offline_features(
    spark: SparkSession, stack_settings: Settings, unique_name: str
) -> None:
    apply_all(stack_settings, storage_declarations(), progress=lambda line: None)
    orders, filed = history(unique_name)
    place_history(stack_settings, unique_name, orders, filed)

    with psycopg.connect(stack_settings.postgres_url) as conn:
        for (customer, terminal), expected in offline_probe(spark, orders, filed).items():
            found = customer_features_from_postgres(conn, customer, terminal, AS_OF)
            assert found == {n: expected[n] for n in (*CUSTOMER_FEATURES, *PAIR_FEATURES)}
            assert terminal_features_from_postgres(conn, terminal, AS_OF) == {n: expected[n] for n in TERMINAL_FEATURES}


def test_many_orders_read_in_one_round_trip_as_each_alone(
    redis_client: Redis, stack_settings: Settings, unique_name: str
) -> None:
    fresh, old = AS_OF - timedelta(minutes=1), AS_OF - timedelta(hours=2)
    c1, c2, t1, t2 = (f"{entity}-{unique_name}" for entity in ("c1", "c2", "t1", "t2"))
    for number, as_of in ((1, fresh), (2, old)):
        customer = {name: float(number * 10 + i) for i, name in enumerate(CUSTOMER_FEATURES)}
        terminal = {name: number / (i + 3) for i, name in enumerate(TERMINAL_FEATURES)}
        for key, values, extra in (
            # c1 ordered at t1 three times: its pair count there is 3, elsewhere 0.
            (CUSTOMER_KEY.format(customer_id=f"c{number}-{unique_name}"), customer, pair_fields({t1: 3})),
            (TERMINAL_KEY.format(terminal_id=f"t{number}-{unique_name}"), terminal, {}),
        ):
            fields = {k: repr(v) for k, v in values.items()} | extra | {AS_OF_FIELD: as_of.isoformat()}
            redis_client.hset(key, mapping=fields)
    orders = [(c1, t1), (c2, t1), (c1, t2), (f"nobody-{unique_name}", t1), (c1, t1)]  # repeats, a missing one

    text_client = Redis.from_url(stack_settings.redis_url, decode_responses=True)
    try:
        for client in (redis_client, text_client):
            together = read_online_features_many(client, orders, now=AS_OF, max_age_s=3600)
            assert together == [read_online_features(redis_client, c, t, now=AS_OF, max_age_s=3600) for c, t in orders]
    finally:
        text_client.close()
    statuses = [(online.customer.status, online.terminal.status) for online in together]
    assert statuses == [
        ("fresh", "fresh"),
        ("stale", "fresh"),
        ("fresh", "stale"),
        ("missing", "fresh"),
        ("fresh", "fresh"),
    ]
    assert together[0].customer.values == {name: float(10 + i) for i, name in enumerate(CUSTOMER_FEATURES)}
    assert [online.pair[PAIR_FEATURES[0]] for online in together if online.pair] == [3.0, 3.0, 0.0, 3.0]
