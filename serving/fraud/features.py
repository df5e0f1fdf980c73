"""The model input of orders: each order's own features, its customer's and terminal's from the online store,
and PostgreSQL for any entity whose online values are missing or older than the allowed age.

The online values of every order of a batch come from one pipelined Redis round trip (each key read once). An
entity absent from Redis is usually one with no order in the last 30 days (the online job skips those), so the
fallback answers it with one indexed query. A Redis outage is treated like a miss: scoring degrades, it does not fail.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from psycopg import Connection
from psycopg_pool import ConnectionPool
from redis import Redis, RedisError

from features.fraud.fallback import customer_features_from_postgres, terminal_features_from_postgres
from features.fraud.online import OnlineFeatures, read_online_features_many
from features.fraud.request_features import assemble_vector, request_features
from features.fraud.spec import FEATURE_COLUMNS
from features.online_store import EntityFeatures
from features.point_in_time import as_utc
from serving.fraud.contract import FeaturesSource, FraudScoreRequest

log = logging.getLogger(__name__)
NOT_READ = OnlineFeatures(EntityFeatures("missing"), None, EntityFeatures("missing"))


@dataclass(frozen=True)
class OrderFeatures:
    vector: list[float]  # FEATURE_COLUMNS order: the model's input row
    source: FeaturesSource

    @property
    def values(self) -> dict[str, float]:
        return dict(zip(FEATURE_COLUMNS, self.vector, strict=True))


def features_source(online: OnlineFeatures) -> FeaturesSource:
    statuses = {online.customer.status, online.terminal.status}
    if "missing" in statuses:
        return "fallback:missing"
    return "fallback:stale" if "stale" in statuses else "online"


def order_features(
    redis_client: Redis, postgres: ConnectionPool, request: FraudScoreRequest, now: datetime, max_age_s: float
) -> OrderFeatures:
    return orders_features(redis_client, postgres, [request], now, max_age_s)[0]


def orders_features(
    redis_client: Redis,
    postgres: ConnectionPool,
    requests: Sequence[FraudScoreRequest],
    now: datetime,
    max_age_s: float,
) -> list[OrderFeatures]:
    """Each order's model input, in the order given: one Redis round trip for all, PostgreSQL only for the orders
    with an entity missing or stale online (one pooled connection for all of those)."""
    onlines = _read_online(redis_client, requests, now, max_age_s)
    fresh = [online.customer.status == online.terminal.status == "fresh" for online in onlines]
    if all(fresh):
        return [_features(r, online, None, now) for r, online in zip(requests, onlines, strict=True)]
    with postgres.connection() as conn:
        return [_features(r, online, conn, now) for r, online in zip(requests, onlines, strict=True)]


def _features(
    request: FraudScoreRequest, online: OnlineFeatures, conn: Connection | None, now: datetime
) -> OrderFeatures:
    fresh_customer = online.customer.status == "fresh" and online.pair is not None
    customer = online.customer.values if fresh_customer else None
    pair = online.pair if fresh_customer else None
    terminal = online.terminal.values if online.terminal.status == "fresh" else None
    if customer is None or pair is None or terminal is None:
        assert conn is not None  # orders_features opens one whenever an entity is not fresh
        # As of the order's time, but never later than now: a clock-skewed client must not see future orders.
        as_of = min(as_utc(request.placed_at), now)
        if customer is None or pair is None:
            customer = pair = customer_features_from_postgres(conn, request.customer_id, request.terminal_id, as_of)
        if terminal is None:
            terminal = terminal_features_from_postgres(conn, request.terminal_id, as_of)
    own = request_features(request.amount, request.placed_at, customer["customer_avg_amount_30d"])
    return OrderFeatures(assemble_vector(own, customer, terminal, pair), features_source(online))


def _read_online(
    redis_client: Redis, requests: Sequence[FraudScoreRequest], now: datetime, max_age_s: float
) -> list[OnlineFeatures]:
    pairs = [(request.customer_id, request.terminal_id) for request in requests]
    try:
        return read_online_features_many(redis_client, pairs, now, max_age_s)
    except RedisError as error:
        orders = ", ".join(request.order_id for request in requests[:5])
        log.warning(
            "online store unavailable, scoring %d order(s) (%s) from PostgreSQL: %s", len(requests), orders, error
        )
        return [NOT_READ] * len(requests)
