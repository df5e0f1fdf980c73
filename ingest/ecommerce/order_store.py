"""PostgreSQL repository functions for orders, their lines, payments and chargebacks (caller's transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from ingest.core.unit_of_work import CreateWrites
from ingest.ecommerce.commands import TokenisedOrder


@dataclass(frozen=True)
class OrderRow:
    order_id: str
    customer_id: str
    amount: Decimal
    status: str
    version: int


NEW_ORDER = sql.SQL(
    """INSERT INTO ecommerce.orders (order_id, customer_id, merchant_id, terminal_id, card_last4, card_token,
    card_brand, amount, currency, status, placed_at, command_fingerprint, fraud_check_due, created_by, updated_by)
    VALUES (%(order_id)s, %(customer_id)s, %(merchant_id)s, %(terminal_id)s, %(card_last4)s, %(card_token)s,
    %(card_brand)s, %(amount)s, %(currency)s, 'placed', %(placed_at)s, %(command_fingerprint)s,
    %(fraud_check_due)s, %(actor)s, %(actor)s)
    ON CONFLICT (order_id) DO NOTHING RETURNING order_id"""
)
NEW_ORDER_LINES = sql.SQL(
    """INSERT INTO ecommerce.order_lines (order_id, line_no, product_id, category, quantity, unit_price,
    created_by, updated_by)
    SELECT created.order_id, line.*, %(actor)s, %(actor)s FROM created,
    unnest(%(line_no)s::int[], %(product_id)s::text[], %(category)s::text[], %(quantity)s::int[],
    %(unit_price)s::numeric[]) AS line"""
)


def new_order_writes(
    command: TokenisedOrder, placed_at: datetime, fingerprint: str, actor: str, fraud_check_due: bool = False
) -> CreateWrites:
    """The order and its lines as the kit's one-statement create (`unit_of_work.create_once`); ``fraud_check_due``
    marks an order whose fraud check must follow (the rescoring job finds it if the check never finishes)."""
    lines = command.lines
    params = {
        **command.model_dump(
            include={"order_id", "customer_id", "merchant_id", "terminal_id", "currency", "card_token", "card_last4"}
        ),
        "card_brand": command.card_brand,
        "amount": command.amount,
        "placed_at": placed_at,
        "command_fingerprint": fingerprint,
        "fraud_check_due": fraud_check_due,
        "actor": actor,
        "line_no": list(range(len(lines))),
        "product_id": [line.product_id for line in lines],
        "category": [line.category for line in lines],
        "quantity": [line.quantity for line in lines],
        "unit_price": [line.unit_price for line in lines],
    }
    return CreateWrites(NEW_ORDER, [NEW_ORDER_LINES], params)


def lock_order(conn: psycopg.Connection, order_id: str) -> OrderRow | None:
    """The order, locked until commit so two payments or chargebacks of one order are decided one after the other."""
    query = """SELECT order_id, customer_id, amount, status, version FROM ecommerce.orders
    WHERE order_id = %s FOR UPDATE"""
    row = conn.execute(query, (order_id,)).fetchone()
    return None if row is None else OrderRow(*row)


def set_order_status(conn: psycopg.Connection, order: OrderRow, status: str, actor: str) -> bool:
    """Move ``order`` to ``status``; False when it changed since it was read (optimistic check)."""
    cursor = conn.execute(
        "UPDATE ecommerce.orders SET status = %s, updated_by = %s WHERE order_id = %s AND version = %s",
        (status, actor, order.order_id, order.version),
    )
    return cursor.rowcount == 1


def payment_of(conn: psycopg.Connection, order_id: str) -> str | None:
    row = conn.execute("SELECT payment_id FROM ecommerce.payments WHERE order_id = %s", (order_id,)).fetchone()
    return None if row is None else row[0]


def chargeback_of(conn: psycopg.Connection, order_id: str) -> str | None:
    row = conn.execute("SELECT chargeback_id FROM ecommerce.chargebacks WHERE order_id = %s", (order_id,)).fetchone()
    return None if row is None else row[0]


def insert_payment(conn: psycopg.Connection, row: tuple[Any, ...], actor: str) -> None:
    """``row``: payment_id, order_id, amount, method, captured_at, command fingerprint."""
    conn.execute(
        """INSERT INTO ecommerce.payments (payment_id, order_id, amount, method, captured_at, command_fingerprint,
        created_by, updated_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
        (*row, actor, actor),
    )


def insert_chargeback(conn: psycopg.Connection, row: tuple[Any, ...], actor: str) -> None:
    """``row``: chargeback_id, order_id, reason, amount, filed_at, command fingerprint."""
    conn.execute(
        """INSERT INTO ecommerce.chargebacks (chargeback_id, order_id, reason, amount, filed_at, command_fingerprint,
        created_by, updated_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
        (*row, actor, actor),
    )


def order_view(conn: psycopg.Connection, order_id: str) -> dict[str, Any] | None:
    """The order as an API reader sees it: header, lines, payment and chargeback ids, fraud check (no card data)."""
    with conn.cursor(row_factory=dict_row) as cursor:
        header = cursor.execute(
            """SELECT o.order_id, o.customer_id, o.merchant_id, o.terminal_id, o.card_last4, o.amount, o.currency,
            o.status, o.placed_at, o.version, o.created_at, o.updated_at, p.payment_id, c.chargeback_id,
            o.fraud_decision, o.fraud_score, o.fraud_model_version, o.fraud_features_source, o.fraud_checked_at,
            o.fraud_error
            FROM ecommerce.orders o
            LEFT JOIN ecommerce.payments p USING (order_id)
            LEFT JOIN ecommerce.chargebacks c USING (order_id)
            WHERE o.order_id = %s""",
            (order_id,),
        ).fetchone()
        if header is None:
            return None
        header["fraud"] = fraud_view(header)
        header["lines"] = cursor.execute(
            """SELECT product_id, category, quantity, unit_price FROM ecommerce.order_lines
            WHERE order_id = %s ORDER BY line_no""",
            (order_id,),
        ).fetchall()
    return header


def fraud_view(header: dict[str, Any]) -> dict[str, Any] | None:
    """Move the ``fraud_*`` columns out of ``header`` into one object; None when the order was never checked."""
    fraud = {name.removeprefix("fraud_"): header.pop(name) for name in [k for k in header if k.startswith("fraud_")]}
    return fraud if fraud["decision"] is not None else None
