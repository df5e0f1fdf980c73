"""The online store: each customer's and terminal's features as of a moment, in Redis for the scoring service.

The values for an entity are those an order placed at ``as_of`` would get offline (same windows, same rules).
Only entities with an order in the longest window are written: any other one has all-zero features, which the
PostgreSQL fallback answers cheaply. Keys expire ``ttl_s`` after writing; the service also checks ``as_of``
itself and treats values older than its own limit as stale.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pyspark.sql import Column, DataFrame, Row
from pyspark.sql import functions as F
from redis import Redis

from features.fraud_spec import (
    AS_OF_FIELD,
    CUSTOMER_FEATURES,
    CUSTOMER_KEY,
    ORDER_KEY,
    TERMINAL_FEATURES,
    TERMINAL_KEY,
    WINDOWS_DAYS,
)
from features.offline import EXACT_AMOUNT, TS, first_filings, order_events, ratio, unix_micros, window_us

WRITE_BATCH = 500  # entities per pipelined round trip


def _in_window(as_of_us: int, days: int) -> Column:
    return F.col(TS) >= as_of_us - window_us(days)


def _customer_aggregates(as_of_us: int) -> list[Column]:
    columns = []
    for days in WINDOWS_DAYS:
        columns.append(F.count(F.when(_in_window(as_of_us, days), 1)).cast("double").alias(f"customer_orders_{days}d"))
        spend = F.sum(F.when(_in_window(as_of_us, days), F.col(EXACT_AMOUNT)))
        columns.append(F.coalesce(spend.cast("double"), F.lit(0.0)).alias(f"customer_spend_{days}d"))
    return columns


def _terminal_aggregates(as_of_us: int) -> list[Column]:
    known = F.unix_micros("filed_at") < as_of_us
    columns = []
    for days in WINDOWS_DAYS:
        placed = F.count(F.when(_in_window(as_of_us, days), 1))
        charged = F.count(F.when(_in_window(as_of_us, days) & known, 1))
        columns.append(placed.cast("double").alias(f"terminal_orders_{days}d"))
        columns.append(ratio(charged.cast("double"), placed, 0.0).alias(f"terminal_risk_{days}d"))
    return columns


def latest_entity_features(orders: DataFrame, chargebacks: DataFrame, as_of: datetime) -> tuple[DataFrame, DataFrame]:
    """``(customer_id + CUSTOMER_FEATURES, terminal_id + TERMINAL_FEATURES)`` as of ``as_of`` (aware)."""
    as_of_us = unix_micros(as_of)
    recent = order_events(orders).filter(_in_window(as_of_us, max(WINDOWS_DAYS)) & (F.col(TS) < as_of_us))
    customers = recent.groupBy("customer_id").agg(*_customer_aggregates(as_of_us))
    average = ratio(F.col("customer_spend_30d"), F.col("customer_orders_30d"), 0.0)
    customers = customers.withColumn("customer_avg_amount_30d", average).select("customer_id", *CUSTOMER_FEATURES)
    with_filings = recent.join(first_filings(chargebacks), ORDER_KEY, "left")
    terminals = with_filings.groupBy("terminal_id").agg(*_terminal_aggregates(as_of_us))
    return customers, terminals.select("terminal_id", *TERMINAL_FEATURES)


def _hashes(rows: Iterable[Row], key: str, entity: str, names: tuple[str, ...], as_of: str) -> Iterable[tuple]:
    for row in rows:
        fields = {name: repr(float(row[name])) for name in names} | {AS_OF_FIELD: as_of}
        yield key.format(**{entity: row[entity]}), fields


def write_online(redis_client: Redis, customers: DataFrame, terminals: DataFrame, ttl_s: int, as_of: datetime) -> int:
    """Write one hash per entity (all fields replaced, TTL reset) in pipelined batches; returns entities written."""
    stamp = as_of.astimezone(UTC).isoformat()
    hashes = [
        _hashes(customers.toLocalIterator(), CUSTOMER_KEY, "customer_id", CUSTOMER_FEATURES, stamp),
        _hashes(terminals.toLocalIterator(), TERMINAL_KEY, "terminal_id", TERMINAL_FEATURES, stamp),
    ]
    written = 0
    pipe = redis_client.pipeline(transaction=False)
    for entity_hashes in hashes:
        for key, fields in entity_hashes:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, ttl_s)
            written += 1
            if written % WRITE_BATCH == 0:
                pipe.execute()
    pipe.execute()
    return written


Freshness = Literal["fresh", "stale", "missing"]


@dataclass(frozen=True)
class EntityFeatures:
    status: Freshness
    values: dict[str, float] | None = None  # None when missing; kept when stale, for logging
    as_of: datetime | None = None


@dataclass(frozen=True)
class OnlineFeatures:
    customer: EntityFeatures
    terminal: EntityFeatures

    @property
    def fresh(self) -> bool:
        return self.customer.status == "fresh" and self.terminal.status == "fresh"


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _entity(stored: Mapping, names: tuple[str, ...], now: datetime, max_age_s: float) -> EntityFeatures:
    fields = {_text(k): _text(v) for k, v in stored.items()}
    if AS_OF_FIELD not in fields or any(name not in fields for name in names):  # absent, or an older layout
        return EntityFeatures("missing")
    try:
        as_of = datetime.fromisoformat(fields[AS_OF_FIELD])
        values = {name: float(fields[name]) for name in names}
    except ValueError:  # a garbled entry is as good as none: the fallback recomputes it
        return EntityFeatures("missing")
    as_of = as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of
    status: Freshness = "stale" if (now - as_of).total_seconds() > max_age_s else "fresh"
    return EntityFeatures(status, values, as_of)


def read_online_features(
    redis_client: Redis, customer_id: str, terminal_id: str, now: datetime, max_age_s: float
) -> OnlineFeatures:
    """Both entities in one round trip, each fresh, stale (older than ``max_age_s`` at ``now``) or missing."""
    if now.tzinfo is None:
        raise ValueError("now has no time zone; pass an aware datetime (UTC)")
    pipe = redis_client.pipeline(transaction=False)
    pipe.hgetall(CUSTOMER_KEY.format(customer_id=customer_id))
    pipe.hgetall(TERMINAL_KEY.format(terminal_id=terminal_id))
    customer, terminal = pipe.execute()
    return OnlineFeatures(
        _entity(customer, CUSTOMER_FEATURES, now, max_age_s), _entity(terminal, TERMINAL_FEATURES, now, max_age_s)
    )
