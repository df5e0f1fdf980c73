"""Point-in-time fraud features for every order, from silver orders and chargebacks (see ``spec``).

An order placed at ``t`` sees its customer's and terminal's orders placed in ``[t - window, t)`` at microsecond
precision: never itself, never a later order, and not another order placed in the very same microsecond either
("strictly before t"). Terminal risk looks at the terminal's matured orders, placed in
``[t - delay - window, t - delay)``, and counts one as charged back only once its chargeback was filed before
``t``: training then sees exactly what serving could have known at that moment (``spec`` says why the delay).

Terminal risk is two-dimensional (when the order was placed, when its chargeback was filed), so instead of a
self-join it is turned into events on one time line: a charged-back order placed at ``p`` and known at
``k = max(p + delay, filed_at)`` counts for orders at ``t`` with ``k < t <= p + delay + window``, i.e. +1 at ``k``
and -1 at ``p + delay + window``; a running sum of the events strictly before ``t`` gives the count. One sort per
terminal.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from features.fraud.request_features import NIGHT_ENDS_AT_HOUR, NO_HISTORY_AMOUNT_RATIO, SATURDAY
from features.fraud.spec import (
    FEATURE_COLUMNS,
    LABEL_DELAY_DAYS,
    ORDER_KEY,
    PAIR_FEATURES,
    PAIR_WINDOW_DAYS,
    TIMESTAMP_COLUMN,
    WINDOWS_DAYS,
)
from features.point_in_time import MICROS_PER_DAY, MICROS_PER_HOUR, ratio, window_us

EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday is 0)
TS = "_placed_us"  # placed_at as unix microseconds: time-zone free and exact for range windows
EXACT_AMOUNT = "_amount_exact"  # the decimal, summed exactly before becoming a double
_IS_ORDER = "_is_order"


def first_filings(chargebacks: DataFrame) -> DataFrame:
    """``order_id, filed_at`` of each order's first chargeback (a later filing for the same order adds nothing)."""
    return chargebacks.groupBy(ORDER_KEY).agg(F.min("filed_at").alias("filed_at"))


def order_events(orders: DataFrame) -> DataFrame:
    return orders.select(
        ORDER_KEY,
        "customer_id",
        "terminal_id",
        TIMESTAMP_COLUMN,
        F.col("amount").cast("double").alias("amount"),
        F.col("amount").alias(EXACT_AMOUNT),
        F.unix_micros(TIMESTAMP_COLUMN).alias(TS),
    )


def with_customer_activity(orders: DataFrame) -> DataFrame:
    by_customer = Window.partitionBy("customer_id").orderBy(TS)
    columns: dict[str, Column] = {}
    for days in WINDOWS_DAYS:
        before = by_customer.rangeBetween(-window_us(days), -1)
        columns[f"customer_orders_{days}d"] = F.count(F.lit(1)).over(before).cast("double")
        columns[f"customer_spend_{days}d"] = F.coalesce(F.sum(EXACT_AMOUNT).over(before).cast("double"), F.lit(0.0))
    with_windows = orders.withColumns(columns)
    average = ratio(F.col("customer_spend_30d"), F.col("customer_orders_30d"), 0.0)
    return with_windows.withColumn("customer_avg_amount_30d", average)


def with_pair_activity(orders: DataFrame) -> DataFrame:
    """The customer's orders at the order's terminal in ``[t - PAIR_WINDOW_DAYS, t)``, and whether there were none
    (``request_features.pair_features`` is the reference)."""
    by_pair = Window.partitionBy("customer_id", "terminal_id").orderBy(TS)
    count, first_use = PAIR_FEATURES
    before = F.count(F.lit(1)).over(by_pair.rangeBetween(-window_us(PAIR_WINDOW_DAYS), -1)).cast("double")
    return orders.withColumn(count, before).withColumn(first_use, (F.col(count) == 0).cast("double"))


def _risk_columns(value: Column, only_days: int | None = None) -> dict[str, Column]:
    return {f"_risk_{d}d": value if only_days in (None, d) else F.lit(0) for d in WINDOWS_DAYS}


def chargeback_events(orders: DataFrame, filings: DataFrame, label_delay_days: float = LABEL_DELAY_DAYS) -> DataFrame:
    """+1 when a charged-back order becomes known, -1 when it leaves each window (see the module docstring)."""
    # "placed" here is when the order matures: from then on it sits in the risk windows.
    matured = F.col(TS) + window_us(label_delay_days)
    charged = orders.join(filings, ORDER_KEY).select(
        "terminal_id", matured.alias("placed"), F.greatest(matured, F.unix_micros("filed_at")).alias("known")
    )
    known_in_time = {f"_risk_{d}d": (F.col("known") < F.col("placed") + window_us(d)).cast("int") for d in WINDOWS_DAYS}
    starts = charged.select("terminal_id", F.col("known").alias(TS), *[c.alias(n) for n, c in known_in_time.items()])
    ends = [
        charged.filter(F.col("known") < F.col("placed") + window_us(d)).select(
            "terminal_id",
            (F.col("placed") + window_us(d)).alias(TS),
            *[c.alias(n) for n, c in _risk_columns(F.lit(-1), d).items()],
        )
        for d in WINDOWS_DAYS
    ]
    events = starts
    for leaving in ends:
        events = events.unionByName(leaving)
    return events.withColumn(_IS_ORDER, F.lit(0))


def with_terminal_activity(
    orders: DataFrame, chargebacks_known: DataFrame, label_delay_days: float = LABEL_DELAY_DAYS
) -> DataFrame:
    """``orders`` gain the terminal columns; ``chargebacks_known`` are the events of :func:`chargeback_events` with
    the same ``label_delay_days``. Activity counts the last days' orders; risk divides by the matured ones."""
    order_rows = orders.withColumns({**_risk_columns(F.lit(0)), _IS_ORDER: F.lit(1)})
    timeline = order_rows.unionByName(chargebacks_known, allowMissingColumns=True)
    by_terminal = Window.partitionBy("terminal_id").orderBy(TS)
    known_before = by_terminal.rangeBetween(Window.unboundedPreceding, -1)
    counts: dict[str, Column] = {}
    for days in WINDOWS_DAYS:
        placed = F.sum(_IS_ORDER).over(by_terminal.rangeBetween(-window_us(days), -1))
        counts[f"terminal_orders_{days}d"] = F.coalesce(placed, F.lit(0)).cast("double")
        delay = window_us(label_delay_days)
        matured = F.sum(_IS_ORDER).over(by_terminal.rangeBetween(-delay - window_us(days), -delay - 1))
        counts[f"_matured_{days}d"] = F.coalesce(matured, F.lit(0)).cast("double")
        counts[f"_charged_{days}d"] = F.coalesce(F.sum(f"_risk_{days}d").over(known_before), F.lit(0)).cast("double")
    risks = {f"terminal_risk_{d}d": ratio(F.col(f"_charged_{d}d"), F.col(f"_matured_{d}d"), 0.0) for d in WINDOWS_DAYS}
    return timeline.withColumns(counts).filter(F.col(_IS_ORDER) == 1).withColumns(risks)


def request_columns() -> dict[str, Column]:
    """The Spark twin of ``request_features.request_features`` (tested against it), in UTC whatever the session."""
    hour = F.floor(F.pmod(F.col(TS), F.lit(MICROS_PER_DAY)) / MICROS_PER_HOUR)
    weekday = F.pmod(F.floor(F.col(TS) / MICROS_PER_DAY) + EPOCH_WEEKDAY, F.lit(7))
    return {
        "amount_to_customer_avg_30d": ratio(F.col("amount"), F.col("customer_avg_amount_30d"), NO_HISTORY_AMOUNT_RATIO),
        "hour_of_day": hour.cast("double"),
        "is_weekend": (weekday >= SATURDAY).cast("double"),
        "is_night": (hour < NIGHT_ENDS_AT_HOUR).cast("double"),
    }


def build_fraud_features(
    orders: DataFrame, chargebacks: DataFrame, label_delay_days: float = LABEL_DELAY_DAYS
) -> DataFrame:
    """One row per order: ``order_id, customer_id, terminal_id, placed_at`` and ``FEATURE_COLUMNS`` (doubles);
    terminal risk over windows ending ``label_delay_days`` before each order."""
    placed = order_events(orders)
    # The chargeback events start from the bare orders: from the customer-window output, Spark would compute
    # those windows a second time for them.
    known = chargeback_events(placed, first_filings(chargebacks), label_delay_days)
    terminals = with_terminal_activity(with_pair_activity(with_customer_activity(placed)), known, label_delay_days)
    events = terminals.withColumns(request_columns())
    return events.select(ORDER_KEY, "customer_id", "terminal_id", TIMESTAMP_COLUMN, *FEATURE_COLUMNS)
