"""Writing one bulk-import batch to PostgreSQL in one transaction: staged by COPY, inserted where new, the outbox
events of what was inserted, and the import's checkpoint.

Conflicts are decided before anything is inserted: an order or payment id already stored with another command
fingerprint rejects its whole CSV row (order, line, payment), as ``IdempotencyConflict`` would refuse the command.
A chargeback lands only on the very order it was written for (same order fingerprint).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from ingest.core import bulk
from ingest.core.unit_of_work import set_actor
from ingest.ecommerce.bulk_batch import CHARGEBACKS, CUSTOMERS, ORDER_LINES, ORDERS, PAYMENTS, STAGING, Batch
from ingest.ecommerce.contract import DOMAIN

CUSTOMERS_TABLE = sql.Identifier(DOMAIN, "customers")
ORDERS_TABLE = sql.Identifier(DOMAIN, "orders")
ORDER_LINES_TABLE = sql.Identifier(DOMAIN, "order_lines")
PAYMENTS_TABLE = sql.Identifier(DOMAIN, "payments")
CHARGEBACKS_TABLE = sql.Identifier(DOMAIN, "chargebacks")

SAME_ORDER = sql.SQL(
    """EXISTS (SELECT 1 FROM ecommerce.orders o
    WHERE o.order_id = s.order_id AND o.command_fingerprint = s.order_fingerprint)"""
)
# As ``file_chargeback``: the order moves to ``chargeback``; its stamp trigger bumps the version.
CHARGE_BACK_ORDERS = """UPDATE ecommerce.orders o SET status = 'chargeback', updated_by = %(actor)s
FROM stage_chargebacks s JOIN bulk_applied a ON a.seq = s.seq WHERE o.order_id = s.order_id"""


@dataclass(frozen=True)
class Checkpoint:
    import_key: str
    source: str


@dataclass
class BatchResult:
    orders: int = 0  # inserted; the others were already there (a re-run) or rejected
    chargebacks: int = 0
    events: int = 0
    rejects: list[tuple[int, str]] = field(default_factory=list)  # (CSV line, reason)


def prepare(conn: psycopg.Connection) -> None:
    """Create this session's staging tables (once per connection)."""
    with conn.transaction():
        bulk.create_staging(conn, STAGING)


def apply_batch(
    conn: psycopg.Connection, batch: Batch, actor: str, checkpoint: Checkpoint, finished: bool
) -> BatchResult:
    result = BatchResult()
    with conn.transaction():
        set_actor(conn, DOMAIN, actor)
        for table in (*STAGING, bulk.EVENTS):
            bulk.copy_into(conn, table, batch.text(table))
        conflicts = _row_conflicts(conn)
        bulk.insert_new(conn, CUSTOMERS_TABLE, CUSTOMERS, "customer_id", actor)  # an existing customer stays
        result.orders = bulk.insert_new(conn, ORDERS_TABLE, ORDERS, "order_id", actor)
        # A later row of this batch reusing an order id with other content: its payment must not land either.
        conflicts += _conflicts(conn, "order", ORDERS_TABLE, ORDERS, "order_id")
        bulk.insert_children(conn, ORDER_LINES_TABLE, ORDER_LINES, actor)
        bulk.insert_new(conn, PAYMENTS_TABLE, PAYMENTS, "payment_id", actor, owner="order_seq")
        conflicts += _conflicts(conn, "chargeback", CHARGEBACKS_TABLE, CHARGEBACKS, "chargeback_id")
        result.chargebacks = bulk.insert_new(
            conn,
            CHARGEBACKS_TABLE,
            CHARGEBACKS,
            "chargeback_id",
            actor,
            condition=SAME_ORDER,
            staged_only=frozenset({"order_fingerprint"}),
        )
        conn.execute(CHARGE_BACK_ORDERS, {"actor": actor})
        result.events = bulk.append_outbox(conn, DOMAIN)
        progress = (batch.commands_end, batch.rows_end)
        bulk.save_checkpoint(conn, DOMAIN, checkpoint.import_key, checkpoint.source, progress, finished)
    result.rejects = [(batch.lines[seq], reason) for seq, reason in conflicts]
    return result


def _row_conflicts(conn: psycopg.Connection) -> list[tuple[int, str]]:
    """Rows whose order or payment id is stored with other content; each is marked rejected."""
    orders = _conflicts(conn, "order", ORDERS_TABLE, ORDERS, "order_id")
    return orders + _conflicts(conn, "payment", PAYMENTS_TABLE, PAYMENTS, "payment_id", owner="order_seq")


COMMANDS = {"order": "PlaceOrder", "payment": "CapturePayment", "chargeback": "FileChargeback"}


def _conflicts(
    conn: psycopg.Connection,
    resource: str,
    target: sql.Identifier,
    stage: bulk.StagingTable,
    key: str,
    owner: str = "seq",
) -> list[tuple[int, str]]:
    """(seq, reason) of each conflict, in the words of ``IdempotencyConflict`` in the per-command path."""
    return [
        (
            seq,
            f"{resource} {found} was already created by a different {COMMANDS[resource]} command; "
            "reusing its id with other content is refused (send a new id)",
        )
        for seq, found in bulk.reject_conflicts(conn, target, stage, key, owner)
    ]
