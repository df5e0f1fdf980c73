"""Fraud features on small hand-built silver frames: every window edge, the point-in-time rules, the label cut-off,
the request features on known timestamps, and a randomised check against a plain-Python reference."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pyspark.sql import DataFrame, SparkSession

from features.fraud.offline import build_fraud_features
from features.fraud.online import TERMINAL_ORDERS, latest_entity_features
from features.fraud.request_features import assemble_vector, pair_features, request_features
from features.fraud.spec import CUSTOMER_FEATURES, FEATURE_COLUMNS, LABEL_COLUMN, PAIR_FEATURES, TERMINAL_FEATURES
from features.fraud.training_set import build_training_set

T0 = datetime(2024, 3, 13, 12, 0, tzinfo=UTC)  # a Wednesday
US = timedelta(microseconds=1)
DAY = timedelta(days=1)
ORDERS_SCHEMA = (
    "order_id string, customer_id string, merchant_id string, terminal_id string, amount decimal(18,2), "
    "placed_at timestamp, status string"
)
CHARGEBACKS_SCHEMA = "chargeback_id string, order_id string, reason string, amount decimal(18,2), filed_at timestamp"


def silver_orders(spark: SparkSession, rows: list[tuple[str, str, str, str, datetime]]) -> DataFrame:
    """``(order_id, customer_id, terminal_id, amount, placed_at)`` → silver-shaped orders."""
    full = [(o, c, "m-1", t, Decimal(a), at, "placed") for o, c, t, a, at in rows]
    return spark.createDataFrame(full, ORDERS_SCHEMA)


def silver_chargebacks(spark: SparkSession, rows: list[tuple[str, datetime]]) -> DataFrame:
    full = [(f"cb-{i}", order_id, "fraud", Decimal("1.00"), filed) for i, (order_id, filed) in enumerate(rows)]
    return spark.createDataFrame(full, CHARGEBACKS_SCHEMA)


def features_by_order(frame: DataFrame) -> dict[str, dict[str, float]]:
    return {row["order_id"]: row.asDict() for row in frame.collect()}


def test_customer_windows_include_their_start_and_exclude_the_order_itself_ties_and_the_future(spark) -> None:
    orders = silver_orders(
        spark,
        [
            ("old", "c1", "t9", "32.00", T0 - 30 * DAY - US),  # just outside 30 days
            ("d30", "c1", "t9", "16.00", T0 - 30 * DAY),  # exactly 30 days before: inside
            ("d7", "c1", "t9", "8.00", T0 - 7 * DAY),
            ("d1", "c1", "t9", "0.10", T0 - DAY),
            ("just", "c1", "t9", "0.20", T0 - US),
            ("me", "c1", "t9", "50.00", T0),
            ("tie", "c1", "t9", "64.00", T0),  # same microsecond: not strictly before
            ("later", "c1", "t9", "128.00", T0 + US),
            ("other", "c2", "t9", "256.00", T0 - US),  # another customer
        ],
    )
    me = features_by_order(build_fraud_features(orders, silver_chargebacks(spark, [])))["me"]
    assert [me[f"customer_orders_{d}d"] for d in (1, 7, 30)] == [2.0, 3.0, 4.0]
    # 0.10 + 0.20 summed as decimals: exactly 0.3, not 0.30000000000000004
    assert [me[f"customer_spend_{d}d"] for d in (1, 7, 30)] == [0.3, 8.3, 24.3]
    assert me["customer_avg_amount_30d"] == 24.3 / 4
    assert me["amount_to_customer_avg_30d"] == 50.0 / (24.3 / 4)
    assert [me[f"terminal_orders_{d}d"] for d in (1, 7, 30)] == [3.0, 4.0, 5.0]  # terminal also sees "other"
    assert (me["customer_terminal_orders_30d"], me["new_terminal_for_customer_30d"]) == (4.0, 0.0)


def test_a_first_use_of_a_terminal_is_per_customer_and_per_30_days(spark) -> None:
    orders = silver_orders(
        spark,
        [
            ("long-ago", "c1", "t2", "5.00", T0 - 30 * DAY - US),  # just outside the pair window
            ("home", "c1", "t1", "5.00", T0 - DAY),
            ("someone-else", "c2", "t2", "5.00", T0 - DAY),  # another customer's use does not count
            ("away", "c1", "t2", "50.00", T0),
            ("back-home", "c1", "t1", "5.00", T0),
            ("away-again", "c1", "t2", "50.00", T0 + US),
        ],
    )
    features = features_by_order(build_fraud_features(orders, silver_chargebacks(spark, [])))
    pair = {o: (v["customer_terminal_orders_30d"], v["new_terminal_for_customer_30d"]) for o, v in features.items()}
    assert pair["away"] == (0.0, 1.0) and pair["back-home"] == (1.0, 0.0) and pair["away-again"] == (1.0, 0.0)
    assert pair["someone-else"] == (0.0, 1.0) and pair["home"] == (0.0, 1.0)


def test_a_first_order_has_zero_history_and_a_neutral_amount_ratio(spark) -> None:
    orders = silver_orders(spark, [("first", "c1", "t1", "99.99", T0)])
    first = features_by_order(build_fraud_features(orders, silver_chargebacks(spark, [])))["first"]
    assert all(first[name] == 0.0 for name in (*CUSTOMER_FEATURES, *TERMINAL_FEATURES))
    assert first["customer_terminal_orders_30d"] == 0.0 and first["new_terminal_for_customer_30d"] == 1.0
    assert first["amount"] == 99.99 and first["amount_to_customer_avg_30d"] == 1.0


@pytest.fixture
def terminal_history(spark) -> tuple[DataFrame, DataFrame]:
    orders = silver_orders(
        spark,
        [
            ("p5", "c1", "t1", "10.00", T0 - 5 * DAY),
            ("p4", "c2", "t1", "10.00", T0 - 4 * DAY),
            ("p3", "c3", "t1", "10.00", T0 - 3 * DAY),
            ("p2", "c4", "t1", "10.00", T0 - 2 * DAY),
            ("now", "c5", "t1", "10.00", T0),
            ("then", "c6", "t1", "10.00", T0 + 2 * DAY),
            ("elsewhere", "c7", "t2", "10.00", T0 + 2 * DAY),
        ],
    )
    chargebacks = silver_chargebacks(
        spark,
        [
            ("p5", T0 - DAY),  # known before T0
            ("p5", T0 + 10 * DAY),  # a second filing for the same order counts once
            ("p4", T0 + DAY),  # filed after T0: not known at T0
            ("p3", T0),  # filed exactly at T0: not *before* T0
        ],
    )
    return orders, chargebacks


def test_terminal_risk_counts_only_chargebacks_filed_before_the_order(spark, terminal_history) -> None:
    # Without a label delay every order in the window is in the share, labelled or not.
    features = features_by_order(build_fraud_features(*terminal_history, label_delay_days=0))
    now, then = features["now"], features["then"]
    assert [now[f"terminal_orders_{d}d"] for d in (1, 7, 30)] == [0.0, 4.0, 4.0]
    assert [now[f"terminal_risk_{d}d"] for d in (1, 7, 30)] == [0.0, 1 / 4, 1 / 4]
    # Two days later p4's and p3's chargebacks are known too; p5, placed exactly 7 days before, is still inside.
    assert [then[f"terminal_orders_{d}d"] for d in (1, 7, 30)] == [0.0, 5.0, 5.0]
    assert [then[f"terminal_risk_{d}d"] for d in (1, 7, 30)] == [0.0, 3 / 5, 3 / 5]
    assert features["p4"]["terminal_risk_7d"] == 0.0  # p5's chargeback came 3 days after p4 was placed
    assert features["elsewhere"]["terminal_orders_30d"] == 0.0


def test_terminal_risk_looks_only_at_orders_old_enough_for_their_label(spark, terminal_history) -> None:
    # A 3-day delay: at T0 the risk windows end at T0 - 3 days, so p2 (not matured) is out of every share while
    # still counted as activity; p3, placed exactly 3 days before, is out too (windows end before their end).
    features = features_by_order(build_fraud_features(*terminal_history, label_delay_days=3))
    now, then = features["now"], features["then"]
    assert [now[f"terminal_orders_{d}d"] for d in (1, 7, 30)] == [0.0, 4.0, 4.0]
    # Matured at T0: p5 and p4 (windows [T0-3-d, T0-3)); p5's chargeback is known, p4's is not yet (and p4 alone,
    # not charged back by T0, fills the 1-day window).
    assert [now[f"terminal_risk_{d}d"] for d in (1, 7, 30)] == [0.0, 1 / 2, 1 / 2]
    # At T0+2 the windows end at T0-1: p5, p4, p3 and p2 in the 7- and 30-day ones, of which p5, p4 and p3 are
    # charged back and known by then; the 1-day window [T0-2, T0-1) holds p2 alone, never charged back.
    assert [then[f"terminal_risk_{d}d"] for d in (1, 7, 30)] == [0.0, 3 / 4, 3 / 4]
    # The delay of 0 gives the earlier rule back: the same as without the shift.
    undelayed = features_by_order(build_fraud_features(*terminal_history, label_delay_days=0))
    assert undelayed["now"]["terminal_risk_7d"] == 1 / 4


def test_the_label_is_a_chargeback_filed_at_or_before_the_cutoff(spark, terminal_history) -> None:
    orders, chargebacks = terminal_history
    training = build_training_set(build_fraud_features(orders, chargebacks), chargebacks, cutoff=T0)
    labels = {row["order_id"]: row[LABEL_COLUMN] for row in training.collect()}
    assert labels == {"p5": 1, "p4": 0, "p3": 1, "p2": 0, "now": 0}  # "then" and "elsewhere" are after T0
    assert training.columns[-1] == LABEL_COLUMN and set(FEATURE_COLUMNS) <= set(training.columns)


def test_a_naive_cutoff_is_refused(spark, terminal_history) -> None:
    orders, chargebacks = terminal_history
    with pytest.raises(ValueError, match="no time zone"):
        build_training_set(build_fraud_features(orders, chargebacks), chargebacks, cutoff=datetime(2024, 3, 13))


def test_online_values_are_what_an_order_placed_at_as_of_would_get(spark, terminal_history) -> None:
    orders, chargebacks = terminal_history
    customers, terminals = latest_entity_features(orders, chargebacks, as_of=T0, label_delay_days=0)
    terminal = {row["terminal_id"]: row.asDict() for row in terminals.collect()}["t1"]
    assert [terminal[f"terminal_orders_{d}d"] for d in (1, 7, 30)] == [0.0, 4.0, 4.0]
    assert [terminal[f"terminal_risk_{d}d"] for d in (1, 7, 30)] == [0.0, 1 / 4, 1 / 4]
    _, delayed = latest_entity_features(orders, chargebacks, as_of=T0, label_delay_days=3)
    terminal = {row["terminal_id"]: row.asDict() for row in delayed.collect()}["t1"]
    assert [terminal[f"terminal_risk_{d}d"] for d in (1, 7, 30)] == [0.0, 1 / 2, 1 / 2]
    used = {row["customer_id"]: row[TERMINAL_ORDERS] for row in customers.collect()}
    assert used == {c: {"t1": 1.0} for c in ("c1", "c2", "c3", "c4")}  # active before T0, each once at t1


@pytest.mark.parametrize(
    ("placed_at", "hour", "weekend", "night"),
    [
        (datetime(2024, 3, 9, 23, 30, tzinfo=UTC), 23.0, 1.0, 0.0),  # Saturday evening
        (datetime(2024, 3, 10, 0, 0, tzinfo=UTC), 0.0, 1.0, 1.0),  # Sunday, midnight starts the night
        (datetime(2024, 3, 11, 5, 59, 59, 999999, tzinfo=UTC), 5.0, 0.0, 1.0),  # Monday, last instant of night
        (datetime(2024, 3, 11, 6, 0, tzinfo=UTC), 6.0, 0.0, 0.0),
        (datetime(2024, 3, 11, 1, 30, tzinfo=timezone(timedelta(hours=2))), 23.0, 1.0, 0.0),  # Sunday 23:30 UTC
        (datetime(2024, 3, 15, 13, 0), 13.0, 0.0, 0.0),  # naive: read as UTC (a Friday)
    ],
)
def test_request_features_on_known_timestamps(placed_at: datetime, hour: float, weekend: float, night: float) -> None:
    features = request_features(Decimal("50.00"), placed_at, customer_avg_amount_30d=20.0)
    assert features == {
        "amount": 50.0,
        "amount_to_customer_avg_30d": 2.5,
        "hour_of_day": hour,
        "is_weekend": weekend,
        "is_night": night,
    }


def test_spark_request_columns_match_the_python_ones(spark) -> None:
    rng = random.Random(7)
    times = [T0 + timedelta(seconds=rng.randrange(-40 * 86400, 40 * 86400), microseconds=rng.randrange(10**6))]
    times += [T0 + timedelta(hours=h, minutes=59) for h in range(0, 24 * 8, 5)]
    rows = [(f"o{i}", f"c{i % 3}", "t1", f"{rng.randrange(1, 10**5) / 100:.2f}", at) for i, at in enumerate(times)]
    features = features_by_order(build_fraud_features(silver_orders(spark, rows), silver_chargebacks(spark, [])))
    for order_id, _, _, amount, placed_at in rows:
        spark_values = features[order_id]
        expected = request_features(Decimal(amount), placed_at, spark_values["customer_avg_amount_30d"])
        assert {name: spark_values[name] for name in expected} == expected, order_id


def test_assemble_vector_follows_feature_columns() -> None:
    position = {name: float(i) for i, name in enumerate(FEATURE_COLUMNS)}
    request = {name: position[name] for name in ("is_night", "amount", "hour_of_day", "is_weekend")}
    request["amount_to_customer_avg_30d"] = position["amount_to_customer_avg_30d"]
    customer = {name: position[name] for name in reversed(CUSTOMER_FEATURES)}
    terminal = {name: position[name] for name in TERMINAL_FEATURES} | {"unrelated": -1.0}
    pair = {name: position[name] for name in reversed(PAIR_FEATURES)}
    assert assemble_vector(request, customer, terminal, pair) == [float(i) for i in range(len(FEATURE_COLUMNS))]
    with pytest.raises(ValueError, match="terminal features missing: terminal_risk_30d"):
        assemble_vector(request, customer, {k: v for k, v in terminal.items() if k != "terminal_risk_30d"}, pair)
    with pytest.raises(ValueError, match="customer-terminal pair features missing: new_terminal_for_customer_30d"):
        assemble_vector(request, customer, terminal, {"customer_terminal_orders_30d": 2.0})


def test_pair_features_flag_a_first_use() -> None:
    assert pair_features(0) == {"customer_terminal_orders_30d": 0.0, "new_terminal_for_customer_30d": 1.0}
    assert pair_features(3.0) == {"customer_terminal_orders_30d": 3.0, "new_terminal_for_customer_30d": 0.0}


def reference_features(
    orders: list[tuple], filed: dict[str, datetime], delay: timedelta
) -> dict[str, dict[str, float]]:
    """The spec read literally, one order at a time (quadratic, fine for a few dozen orders)."""
    result = {}
    for order_id, customer, terminal, _, t in orders:
        values: dict[str, float] = {}
        for d in (1, 7, 30):
            window = [o for o in orders if t - d * DAY <= o[4] < t]
            mine = [Decimal(o[3]) for o in window if o[1] == customer]
            at_terminal = [o[0] for o in window if o[2] == terminal]
            matured = [o[0] for o in orders if t - delay - d * DAY <= o[4] < t - delay and o[2] == terminal]
            charged = [o for o in matured if o in filed and filed[o] < t]
            values |= {f"customer_orders_{d}d": float(len(mine)), f"customer_spend_{d}d": float(sum(mine))}
            values[f"terminal_orders_{d}d"] = float(len(at_terminal))
            values[f"terminal_risk_{d}d"] = len(charged) / len(matured) if matured else 0.0
        at_pair = [o for o in orders if t - 30 * DAY <= o[4] < t and o[1] == customer and o[2] == terminal]
        values |= {
            "customer_terminal_orders_30d": float(len(at_pair)),
            "new_terminal_for_customer_30d": float(not at_pair),
        }
        orders_30d = values["customer_orders_30d"]
        values["customer_avg_amount_30d"] = values["customer_spend_30d"] / orders_30d if orders_30d else 0.0
        result[order_id] = values
    return result


@pytest.mark.parametrize("delay_days", [0, 7, 2.5])
def test_random_histories_match_the_reference(spark, delay_days: float) -> None:
    rng = random.Random(2024)
    start = T0 - 45 * DAY
    moments = [start + timedelta(seconds=rng.randrange(45 * 86400)) for _ in range(70)]
    moments += rng.sample(moments, 10)  # same-instant ties, within and across entities
    orders = [
        (f"o{i}", f"c{rng.randrange(4)}", f"t{rng.randrange(3)}", f"{rng.randrange(1, 50000) / 100:.2f}", at)
        for i, at in enumerate(moments)
    ]
    filed = {o[0]: o[4] + timedelta(hours=rng.randrange(0, 40 * 24)) for o in orders if rng.random() < 0.3}
    chargebacks = silver_chargebacks(spark, list(filed.items()))
    computed = build_fraud_features(silver_orders(spark, orders), chargebacks, label_delay_days=delay_days)
    features = features_by_order(computed)
    expected = reference_features(orders, filed, timedelta(days=delay_days))
    for order_id, values in expected.items():
        assert {name: features[order_id][name] for name in values} == pytest.approx(values, rel=1e-12), order_id
