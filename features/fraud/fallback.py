"""The customer and terminal features of one entity as of a moment, straight from the e-commerce PostgreSQL tables.

The scoring service falls back to this when Redis has no fresh values. The numbers must equal the offline Spark
ones: the same ``[as_of - window, as_of)`` windows (for terminal risk, the matured orders of
``[as_of - delay - window, as_of - delay)``), bounds computed in Python as exact UTC instants (an SQL
``interval '1 day'`` would follow the session's daylight-saving rules), amounts summed exactly as numeric and only
then turned into double precision, ratios divided in double precision as Spark does.

The customer query uses ``orders_customer_placed``; the terminal query wants an index on
``(terminal_id, placed_at)`` to stay fast on a large table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from features.fraud.request_features import pair_features
from features.fraud.spec import (
    CUSTOMER_FEATURES,
    LABEL_DELAY_DAYS,
    PAIR_FEATURES,
    PAIR_WINDOW_DAYS,
    TERMINAL_FEATURES,
    WINDOWS_DAYS,
)
from features.point_in_time import unix_micros, window_us

LONGEST = max(WINDOWS_DAYS)
PAIR_ORDERS = "_pair_orders"


def _since(days: int) -> sql.Placeholder:
    return sql.Placeholder(f"since_{days}d")


def _share(numerator: sql.Composable, denominator: sql.Composable) -> sql.Composed:
    return sql.SQL("CASE WHEN {d} > 0 THEN ({n})::float8 / {d} ELSE 0.0 END").format(n=numerator, d=denominator)


def _customer_columns() -> dict[str, sql.Composable]:
    columns: dict[str, sql.Composable] = {}
    for days in WINDOWS_DAYS:
        recent = sql.SQL("o.placed_at >= {since}").format(since=_since(days))
        columns[f"customer_orders_{days}d"] = sql.SQL("count(*) FILTER (WHERE {r})::float8").format(r=recent)
        spend = sql.SQL("coalesce(sum(o.amount) FILTER (WHERE {r}), 0)::float8").format(r=recent)
        columns[f"customer_spend_{days}d"] = spend
    orders_30d = sql.SQL("count(*) FILTER (WHERE o.placed_at >= {since})").format(since=_since(30))
    spend_30d = sql.SQL("coalesce(sum(o.amount) FILTER (WHERE o.placed_at >= {since}), 0)").format(since=_since(30))
    columns["customer_avg_amount_30d"] = _share(spend_30d, orders_30d)
    at_terminal = sql.SQL("o.placed_at >= %(pair_since)s AND o.terminal_id = %(terminal_id)s")
    columns[PAIR_ORDERS] = sql.SQL("count(*) FILTER (WHERE {t})::float8").format(t=at_terminal)
    return columns


def _matured_since(days: int) -> sql.Placeholder:
    return sql.Placeholder(f"matured_since_{days}d")


def _terminal_columns() -> dict[str, sql.Composable]:
    columns: dict[str, sql.Composable] = {}
    for days in WINDOWS_DAYS:
        placed = sql.SQL("count(*) FILTER (WHERE o.placed_at >= {since})").format(since=_since(days))
        in_matured = sql.SQL("o.placed_at >= {since} AND o.placed_at < %(matured_by)s").format(
            since=_matured_since(days)
        )
        matured = sql.SQL("count(*) FILTER (WHERE {m})").format(m=in_matured)
        charged = sql.SQL("count(*) FILTER (WHERE {m} AND c.filed_at < %(as_of)s)").format(m=in_matured)
        columns[f"terminal_orders_{days}d"] = sql.SQL("{p}::float8").format(p=placed)
        columns[f"terminal_risk_{days}d"] = _share(charged, matured)
    return columns


def _select(columns: dict[str, sql.Composable], source: sql.SQL, entity: str, since: sql.Placeholder) -> sql.Composed:
    selected = sql.SQL(", ").join(sql.SQL("{} AS {}").format(c, sql.Identifier(n)) for n, c in columns.items())
    return sql.SQL(
        "SELECT {selected} FROM {source} WHERE o.{entity} = %(entity_id)s"
        " AND o.placed_at >= {since} AND o.placed_at < %(as_of)s"
    ).format(selected=selected, source=source, entity=sql.Identifier(entity), since=since)


CUSTOMER_QUERY = _select(
    _customer_columns(),
    sql.SQL("ecommerce.orders o"),
    "customer_id",
    sql.SQL("least({a}, %(pair_since)s)").format(a=_since(LONGEST)),
)
TERMINAL_QUERY = _select(
    _terminal_columns(),
    sql.SQL("ecommerce.orders o LEFT JOIN ecommerce.chargebacks c ON c.order_id = o.order_id"),
    "terminal_id",
    sql.SQL("least({a}, {b})").format(a=_since(LONGEST), b=_matured_since(LONGEST)),
)


def _parameters(entity_id: str, as_of: datetime, label_delay_days: float, terminal_id: str = "") -> dict[str, object]:
    unix_micros(as_of)  # refuses a naive time: PostgreSQL would read it in the session's zone
    as_of = as_of.astimezone(UTC)  # exact 24-hour days: aware arithmetic in a zone with DST follows the clock
    matured_by = as_of - timedelta(microseconds=window_us(label_delay_days))
    bounds = {f"since_{days}d": as_of - timedelta(days=days) for days in WINDOWS_DAYS}
    bounds |= {f"matured_since_{days}d": matured_by - timedelta(days=days) for days in WINDOWS_DAYS}
    bounds["pair_since"] = as_of - timedelta(days=PAIR_WINDOW_DAYS)
    return {"entity_id": entity_id, "terminal_id": terminal_id, "as_of": as_of, "matured_by": matured_by, **bounds}


def _fetch(conn: psycopg.Connection, query: sql.Composed, parameters: dict[str, object]) -> dict[str, float]:
    with conn.cursor(row_factory=dict_row) as cursor:
        row = cursor.execute(query, parameters).fetchone()
    return {name: float(value) for name, value in row.items()}


def customer_features_from_postgres(
    conn: psycopg.Connection, customer_id: str, terminal_id: str, as_of: datetime
) -> dict[str, float]:
    """``CUSTOMER_FEATURES`` of ``customer_id`` and ``PAIR_FEATURES`` with ``terminal_id``, as an order placed at
    ``as_of`` (aware) would see them."""
    values = _fetch(conn, CUSTOMER_QUERY, _parameters(customer_id, as_of, LABEL_DELAY_DAYS, terminal_id))
    pair = pair_features(values[PAIR_ORDERS])
    return {name: values[name] for name in CUSTOMER_FEATURES} | {name: pair[name] for name in PAIR_FEATURES}


def terminal_features_from_postgres(
    conn: psycopg.Connection, terminal_id: str, as_of: datetime, label_delay_days: float = LABEL_DELAY_DAYS
) -> dict[str, float]:
    """``TERMINAL_FEATURES`` of ``terminal_id`` as an order placed at ``as_of`` (aware) would see them."""
    values = _fetch(conn, TERMINAL_QUERY, _parameters(terminal_id, as_of, label_delay_days))
    return {name: values[name] for name in TERMINAL_FEATURES}
