"""The model input for one order: the order's own features, its customer's and terminal's from the online store,
and PostgreSQL for any entity whose online values are missing or older than the allowed age.

An entity absent from Redis is usually one with no order in the last 30 days (the online job skips those), so the
fallback answers it with one indexed query. A Redis outage is treated like a miss: scoring degrades, it does not fail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from psycopg_pool import ConnectionPool
from redis import Redis, RedisError

from features.fraud.fallback import customer_features_from_postgres, terminal_features_from_postgres
from features.fraud.online import OnlineFeatures, read_online_features
from features.fraud.request_features import assemble_vector, request_features
from features.fraud.spec import FEATURE_COLUMNS
from features.online_store import EntityFeatures
from features.point_in_time import as_utc
from serving.fraud.contract import FeaturesSource, FraudScoreRequest

log = logging.getLogger(__name__)
NOT_READ = OnlineFeatures(EntityFeatures("missing"), EntityFeatures("missing"))


@dataclass(frozen=True)
class OrderFeatures:
    values: dict[str, float]  # FEATURE_COLUMNS order
    source: FeaturesSource


def features_source(online: OnlineFeatures) -> FeaturesSource:
    statuses = {online.customer.status, online.terminal.status}
    if "missing" in statuses:
        return "fallback:missing"
    return "fallback:stale" if "stale" in statuses else "online"


def order_features(
    redis_client: Redis, postgres: ConnectionPool, request: FraudScoreRequest, now: datetime, max_age_s: float
) -> OrderFeatures:
    online = _read_online(redis_client, request, now, max_age_s)
    customer = online.customer.values if online.customer.status == "fresh" else None
    terminal = online.terminal.values if online.terminal.status == "fresh" else None
    if customer is None or terminal is None:
        # As of the order's time, but never later than now: a clock-skewed client must not see future orders.
        as_of = min(as_utc(request.placed_at), now)
        with postgres.connection() as conn:
            if customer is None:
                customer = customer_features_from_postgres(conn, request.customer_id, as_of)
            if terminal is None:
                terminal = terminal_features_from_postgres(conn, request.terminal_id, as_of)
    own = request_features(request.amount, request.placed_at, customer["customer_avg_amount_30d"])
    vector = assemble_vector(own, customer, terminal)
    return OrderFeatures(dict(zip(FEATURE_COLUMNS, vector, strict=True)), features_source(online))


def _read_online(redis_client: Redis, request: FraudScoreRequest, now: datetime, max_age_s: float) -> OnlineFeatures:
    try:
        return read_online_features(redis_client, request.customer_id, request.terminal_id, now, max_age_s)
    except RedisError as error:
        log.warning("online store unavailable, scoring order %s from PostgreSQL: %s", request.order_id, error)
        return NOT_READ
