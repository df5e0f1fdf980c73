"""Fraud's online features: each customer's and terminal's features as of a moment, in Redis for the scoring service.

The values for an entity are those an order placed at ``as_of`` would get offline (same windows, same label
delay, same rules). A customer's hash also holds its order count at each terminal it used in the pair window
(``spec.PAIR_FIELD``), from which an order's pair features follow. Only entities with an order in the longest
window (pushed back by the label delay, for terminal risk) are written: any other one has all-zero features, which
the PostgreSQL fallback answers cheaply.
The store itself (hash layout, TTL, freshness) is ``features.online_store``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain

from pyspark.sql import Column, DataFrame, Row
from pyspark.sql import functions as F
from redis import Redis

from features.fraud.offline import EXACT_AMOUNT, TS, first_filings, order_events
from features.fraud.request_features import pair_features
from features.fraud.spec import (
    CUSTOMER_FEATURES,
    CUSTOMER_KEY,
    LABEL_DELAY_DAYS,
    ORDER_KEY,
    PAIR_FIELD,
    PAIR_LAYOUT_FIELD,
    PAIR_WINDOW_DAYS,
    TERMINAL_FEATURES,
    TERMINAL_KEY,
    WINDOWS_DAYS,
)
from features.online_store import EntityFeatures, as_of_text, entity_hashes, read_entities, write_entities
from features.point_in_time import ratio, unix_micros, window_us

TERMINAL_ORDERS = "terminal_orders"  # the customers' column: map of terminal_id -> orders in the pair window


def _in_window(as_of_us: int, days: float) -> Column:
    return F.col(TS) >= as_of_us - window_us(days)


def _customer_aggregates(as_of_us: int) -> list[Column]:
    columns = []
    for days in WINDOWS_DAYS:
        columns.append(F.count(F.when(_in_window(as_of_us, days), 1)).cast("double").alias(f"customer_orders_{days}d"))
        spend = F.sum(F.when(_in_window(as_of_us, days), F.col(EXACT_AMOUNT)))
        columns.append(F.coalesce(spend.cast("double"), F.lit(0.0)).alias(f"customer_spend_{days}d"))
    return columns


def _terminal_aggregates(as_of_us: int, label_delay_days: float) -> list[Column]:
    known = F.unix_micros("filed_at") < as_of_us
    matured_by_us = as_of_us - window_us(label_delay_days)
    columns = []
    for days in WINDOWS_DAYS:
        placed = F.count(F.when(_in_window(as_of_us, days), 1))
        in_matured_window = _in_window(matured_by_us, days) & (F.col(TS) < matured_by_us)
        matured = F.count(F.when(in_matured_window, 1))
        charged = F.count(F.when(in_matured_window & known, 1))
        columns.append(placed.cast("double").alias(f"terminal_orders_{days}d"))
        columns.append(ratio(charged.cast("double"), matured, 0.0).alias(f"terminal_risk_{days}d"))
    return columns


def latest_entity_features(
    orders: DataFrame, chargebacks: DataFrame, as_of: datetime, label_delay_days: float = LABEL_DELAY_DAYS
) -> tuple[DataFrame, DataFrame]:
    """``(customer_id + CUSTOMER_FEATURES + TERMINAL_ORDERS, terminal_id + TERMINAL_FEATURES)`` as of ``as_of``
    (aware)."""
    as_of_us = unix_micros(as_of)
    before = order_events(orders).filter(F.col(TS) < as_of_us)
    recent = before.filter(_in_window(as_of_us, max(*WINDOWS_DAYS, PAIR_WINDOW_DAYS)))
    customers = recent.groupBy("customer_id").agg(*_customer_aggregates(as_of_us))
    average = ratio(F.col("customer_spend_30d"), F.col("customer_orders_30d"), 0.0)
    customers = customers.withColumn("customer_avg_amount_30d", average).select("customer_id", *CUSTOMER_FEATURES)
    pairs = recent.filter(_in_window(as_of_us, PAIR_WINDOW_DAYS)).groupBy("customer_id", "terminal_id").count()
    per_terminal = F.struct("terminal_id", F.col("count").cast("double").alias("orders"))
    used = pairs.groupBy("customer_id").agg(F.map_from_entries(F.collect_list(per_terminal)).alias(TERMINAL_ORDERS))
    customers = customers.join(used, "customer_id", "left")
    terminal_orders = before.filter(_in_window(as_of_us, max(WINDOWS_DAYS) + label_delay_days))
    with_filings = terminal_orders.join(first_filings(chargebacks), ORDER_KEY, "left")
    terminals = with_filings.groupBy("terminal_id").agg(*_terminal_aggregates(as_of_us, label_delay_days))
    return customers, terminals.select("terminal_id", *TERMINAL_FEATURES)


def write_online(redis_client: Redis, customers: DataFrame, terminals: DataFrame, ttl_s: int, as_of: datetime) -> int:
    """One hash per customer and terminal (all fields replaced, TTL reset); returns entities written."""
    stamp = as_of_text(as_of)
    hashes = chain(
        customer_hashes(customers.toLocalIterator(), stamp),
        entity_hashes(terminals.toLocalIterator(), TERMINAL_KEY, "terminal_id", TERMINAL_FEATURES, stamp),
    )
    return write_entities(redis_client, hashes, ttl_s)


def customer_hashes(rows: Iterable[Row], stamp: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Each customer's hash: its features and one field per terminal it used in the pair window."""
    for row in rows:
        [(key, fields)] = entity_hashes([row], CUSTOMER_KEY, "customer_id", CUSTOMER_FEATURES, stamp)
        yield key, fields | pair_fields(row[TERMINAL_ORDERS] or {})


def pair_fields(terminal_orders: Mapping[str, float]) -> dict[str, str]:
    """The customer hash's pair fields: its order count per terminal used in the pair window, and the layout mark."""
    counts = {PAIR_FIELD.format(terminal_id=t): repr(float(n)) for t, n in terminal_orders.items()}
    return counts | {PAIR_LAYOUT_FIELD: str(PAIR_WINDOW_DAYS)}


@dataclass(frozen=True)
class OnlineFeatures:
    customer: EntityFeatures
    pair: dict[str, float] | None  # PAIR_FEATURES from the customer's hash, as fresh as it; None when it is missing
    terminal: EntityFeatures

    @property
    def fresh(self) -> bool:
        return self.customer.status == "fresh" and self.terminal.status == "fresh"


def read_online_features(
    redis_client: Redis, customer_id: str, terminal_id: str, now: datetime, max_age_s: float
) -> OnlineFeatures:
    """Both entities in one round trip, each fresh, stale (older than ``max_age_s`` at ``now``) or missing."""
    return read_online_features_many(redis_client, [(customer_id, terminal_id)], now, max_age_s)[0]


def read_online_features_many(
    redis_client: Redis, orders: Sequence[tuple[str, str]], now: datetime, max_age_s: float
) -> list[OnlineFeatures]:
    """``(customer_id, terminal_id)`` of each order, every entity read in one pipelined round trip (each key once,
    however many orders share it), answered in the order given."""
    customers = list(dict.fromkeys(customer for customer, _ in orders))
    terminals = list(dict.fromkeys(terminal for _, terminal in orders))
    wanted = [(CUSTOMER_KEY.format(customer_id=c), CUSTOMER_FEATURES) for c in customers]
    wanted += [(TERMINAL_KEY.format(terminal_id=t), TERMINAL_FEATURES) for t in terminals]
    found = read_entities(redis_client, wanted, now, max_age_s)
    by_customer = dict(zip(customers, found[: len(customers)], strict=True))
    by_terminal = dict(zip(terminals, found[len(customers) :], strict=True))
    return [OnlineFeatures(*_with_pair(by_customer[c], t), by_terminal[t]) for c, t in orders]


def _with_pair(customer: EntityFeatures, terminal_id: str) -> tuple[EntityFeatures, dict[str, float] | None]:
    """The customer and the order's pair features from its hash (a terminal without a field counts 0)."""
    if customer.fields is None:
        return customer, None
    stored = customer.fields.get(PAIR_FIELD.format(terminal_id=terminal_id), "0.0")
    try:
        # A hash written before the pair counts (or for another window) has no layout mark: not "first use".
        if float(customer.fields.get(PAIR_LAYOUT_FIELD, "nan")) != PAIR_WINDOW_DAYS:
            return EntityFeatures("missing"), None
        return customer, pair_features(float(stored))
    except ValueError:  # a garbled count spoils the customer's entry: the fallback recomputes it all
        return EntityFeatures("missing"), None
