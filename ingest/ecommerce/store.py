"""PostgreSQL repository functions of the e-commerce domain: plain SQL with parameters, one statement each.

Every function runs inside the caller's transaction (the use case owns it), so a use case's rows, their audit
trail (written by trigger) and its outbox events commit together. Optimistic locking: updates name the version
they read and report whether it still matched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg

from ingest.ecommerce.commands import RegisterCustomer


def customer_exists(conn: psycopg.Connection, customer_id: str) -> bool:
    # FOR KEY SHARE: a concurrent delete of the customer waits for our order or cart to commit.
    query = "SELECT 1 FROM ecommerce.customers WHERE customer_id = %s FOR KEY SHARE"
    return conn.execute(query, (customer_id,)).fetchone() is not None


def insert_customer(
    conn: psycopg.Connection, command: RegisterCustomer, registered_at: datetime, fingerprint: str, actor: str
) -> None:
    conn.execute(
        """INSERT INTO ecommerce.customers (customer_id, email, full_name, country, registered_at,
        command_fingerprint, created_by, updated_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
        (command.customer_id, command.email, command.full_name, command.country, registered_at, fingerprint)
        + (actor, actor),
    )


@dataclass(frozen=True)
class CartRow:
    cart_id: str
    customer_id: str
    fingerprint: str
    version: int


@dataclass(frozen=True)
class PricedLine:
    product_id: str
    quantity: int
    unit_price: Decimal


def find_cart(conn: psycopg.Connection, cart_id: str) -> CartRow | None:
    query = "SELECT cart_id, customer_id, command_fingerprint, version FROM ecommerce.carts WHERE cart_id = %s"
    row = conn.execute(query, (cart_id,)).fetchone()
    return None if row is None else CartRow(*row)


def insert_cart(conn: psycopg.Connection, cart_id: str, customer_id: str, fingerprint: str, actor: str) -> None:
    conn.execute(
        """INSERT INTO ecommerce.carts (cart_id, customer_id, command_fingerprint, created_by, updated_by)
        VALUES (%s, %s, %s, %s, %s)""",
        (cart_id, customer_id, fingerprint, actor, actor),
    )


def update_cart(conn: psycopg.Connection, cart: CartRow, fingerprint: str, actor: str) -> bool:
    """Record a new content of ``cart``; False when someone changed it since it was read."""
    cursor = conn.execute(
        """UPDATE ecommerce.carts SET command_fingerprint = %s, updated_by = %s
        WHERE cart_id = %s AND version = %s""",
        (fingerprint, actor, cart.cart_id, cart.version),
    )
    return cursor.rowcount == 1


def replace_cart_lines(conn: psycopg.Connection, cart_id: str, lines: Sequence[PricedLine], actor: str) -> None:
    # The delete is audited too, so the log shows what the cart held before.
    conn.execute("DELETE FROM ecommerce.cart_lines WHERE cart_id = %s", (cart_id,))
    rows = [(cart_id, n, line.product_id, line.quantity, line.unit_price, actor, actor) for n, line in enumerate(lines)]
    with conn.cursor() as cursor:
        cursor.executemany(
            """INSERT INTO ecommerce.cart_lines (cart_id, line_no, product_id, quantity, unit_price, created_by,
            updated_by) VALUES (%s, %s, %s, %s, %s, %s, %s)""",
            rows,
        )
