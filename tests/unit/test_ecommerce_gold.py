"""Gold numbers against values worked out by hand from a handful of orders."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal

import pytest

from pipelines.ecommerce.gold import customer_spend, daily_sales_by_category, daily_sales_by_merchant

ORDERS = [
    ("o1", "c1", "m1", Decimal("10.00"), datetime(2026, 3, 1, 9, 0), "paid", False),
    ("o2", "c1", "m2", Decimal("30.00"), datetime(2026, 3, 1, 21, 0), "shipped", True),
    ("o3", "c2", "m1", Decimal("25.50"), datetime(2026, 3, 2, 9, 30), "placed", False),
    ("o4", "c2", "m1", Decimal("99.00"), datetime(2026, 3, 2, 10, 0), "cancelled", False),
    ("o5", "c1", "m1", Decimal("5.00"), datetime(2026, 2, 10, 9, 15), "paid", False),
]
LINES = [
    ("o1", "books", 2, Decimal("10.00")),
    ("o2", "games", 1, Decimal("30.00")),
    ("o3", "books", 1, Decimal("20.00")),
    ("o3", "toys", 1, Decimal("5.50")),
    ("o4", "books", 9, Decimal("99.00")),
    ("o5", "toys", 1, Decimal("5.00")),
]


@pytest.fixture
def orders(spark):
    schema = "order_id string, customer_id string, merchant_id string, amount decimal(18,2), placed_at timestamp, status string, has_chargeback boolean"
    return spark.createDataFrame(ORDERS, schema)


@pytest.fixture
def lines(spark):
    return spark.createDataFrame(LINES, "order_id string, category string, quantity long, line_amount decimal(18,2)")


def test_daily_sales_by_category_leaves_cancelled_orders_out(orders, lines):
    got = {
        (r.date, r.category): (r.orders, r.units, r.revenue) for r in daily_sales_by_category(orders, lines).collect()
    }
    assert got == {
        (date(2026, 3, 1), "books"): (1, 2, Decimal("10.00")),
        (date(2026, 3, 1), "games"): (1, 1, Decimal("30.00")),
        (date(2026, 3, 2), "books"): (1, 1, Decimal("20.00")),
        (date(2026, 3, 2), "toys"): (1, 1, Decimal("5.50")),
        (date(2026, 2, 10), "toys"): (1, 1, Decimal("5.00")),
    }


def test_daily_sales_by_merchant_counts_chargebacks(orders):
    got = {
        (r.date, r.merchant_id): (r.orders, r.revenue, r.chargebacks, r.chargeback_rate)
        for r in daily_sales_by_merchant(orders).collect()
    }
    assert got == {
        (date(2026, 3, 1), "m1"): (1, Decimal("10.00"), 0, 0.0),
        (date(2026, 3, 1), "m2"): (1, Decimal("30.00"), 1, 1.0),
        (date(2026, 3, 2), "m1"): (1, Decimal("25.50"), 0, 0.0),
        (date(2026, 2, 10), "m1"): (1, Decimal("5.00"), 0, 0.0),
    }


def test_customer_spend_windows_end_at_the_latest_order(orders, lines):
    got = {r.customer_id: r.asDict() for r in customer_spend(orders, lines).collect()}
    c1, c2 = got["c1"], got["c2"]
    # Latest order: o3 at 2026-03-02 09:30. c1's o2 is inside 1 day, o1 inside 7, o5 inside 30.
    assert [c1[f"orders_{d}d"] for d in (1, 7, 30)] == [1, 2, 3]
    assert [c1[f"spend_{d}d"] for d in (1, 7, 30)] == [Decimal("30.00"), Decimal("40.00"), Decimal("45.00")]
    assert c1["avg_amount"] == pytest.approx(15.0)
    assert c1["std_amount"] == pytest.approx(math.sqrt((25 + 225 + 100) / 2))
    assert (c1["first_order_at"], c1["last_order_at"]) == (datetime(2026, 2, 10, 9, 15), datetime(2026, 3, 1, 21, 0))
    assert (c1["favourite_category"], c1["usual_hour"]) == ("books", 9)
    # c2's cancelled o4 is not spend; books and toys tie on units, the alphabetically first wins.
    assert [c2[f"orders_{d}d"] for d in (1, 7, 30)] == [1, 1, 1]
    assert (c2["spend_30d"], c2["avg_amount"], c2["std_amount"]) == (Decimal("25.50"), 25.5, None)
    assert (c2["favourite_category"], c2["usual_hour"]) == ("books", 9)
