"""``orders_by_customer`` in Cassandra: one customer's orders of one month, newest first, for the "my orders" page.

Written by the outbox relay, not by the request path: after the relay has the broker's ack for an
``ecommerce.order.placed`` event it upserts the row, and only then marks the outbox row sent. A crash or a
Cassandra outage leaves the row unsent, so the next relay pass publishes and projects it again; both writes are
idempotent (same event id, same key, same cells), so the view converges without repair. Writing Cassandra from
the request handler instead would be a dual write: a PostgreSQL rollback after a Cassandra write (or the reverse)
would leave the two disagreeing with nothing to reconcile them. The relay projects a batch while Kafka acknowledges
it (`project` starts the writes; they are awaited only before the batch is marked sent): the rows are committed
orders, so projecting one whose send then fails is harmless (it stays unsent and is projected again).

A batch's rows of one partition (a customer's month) go as one unlogged batch, a single mutation of that
partition; rows of different partitions stay separate requests, as Cassandra wants. The driver speaks protocol v4:
v5's checksummed frames are built in pure Python by the driver (``cassandra/segment.py``, ~170 us per request,
the largest single cost of the relay's projection in its profile), and v4 carries the same statements.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cassandra import ProtocolVersion
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.policies import RoundRobinPolicy
from cassandra.query import BatchStatement, BatchType, Statement

from lakehouse.settings import Settings, host_port

ORDER_PLACED = "ecommerce.order.placed"
UPSERT = """INSERT INTO orders_by_customer (customer_id, month, placed_at, order_id, merchant_id, amount, currency,
line_count, event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"""
SELECT = """SELECT order_id, placed_at, merchant_id, amount, currency, line_count FROM orders_by_customer
WHERE customer_id = ? AND month = ?"""
# Rows per unlogged batch: ~25 x ~150 bytes stays under Cassandra's 5 KiB batch size warning.
ROWS_PER_BATCH = 25


def month_key(moment: datetime) -> str:
    """The partition bucket of a UTC time: 'YYYY-MM' (a naive time is read as UTC)."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return f"{aware.year:04d}-{aware.month:02d}"


def projection_row(envelope_text: str) -> tuple[Any, ...] | None:
    """The orders_by_customer row of an order.placed envelope, or None for any other event."""
    if ORDER_PLACED not in envelope_text:  # the type is in the text verbatim: other events need no parsing
        return None
    envelope = json.loads(envelope_text)
    if envelope["type"] != ORDER_PLACED:
        return None
    order = envelope["payload"]
    placed_at = datetime.fromisoformat(order["placed_at"].replace("Z", "+00:00")).astimezone(UTC)
    return (
        order["customer_id"],
        month_key(placed_at),
        placed_at,
        order["order_id"],
        order["merchant_id"],
        Decimal(order["amount"]),
        order["currency"],
        len(order["lines"]),
        uuid.UUID(envelope["event_id"]),
    )


class OrdersByCustomer:
    """The Cassandra view; statements prepared once per session."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._upsert = session.prepare(UPSERT)
        self._select = session.prepare(SELECT)

    def project(self, envelope_texts: list[str]) -> Callable[[], int]:
        """Start upserting the rows of the order.placed envelopes among ``envelope_texts``; returns a wait that
        raises if one failed and otherwise says how many rows. The relay waits only before marking the batch sent,
        so Cassandra's round trips overlap its next sends."""
        rows = [row for row in map(projection_row, envelope_texts) if row is not None]
        futures = [self._session.execute_async(statement) for statement in self._statements(rows)]

        def wait() -> int:
            for future in futures:
                future.result()
            return len(rows)

        return wait

    def _statements(self, rows: list[tuple[Any, ...]]) -> Iterator[Statement]:
        by_partition: dict[tuple[Any, ...], list[tuple[Any, ...]]] = defaultdict(list)
        for row in rows:
            by_partition[row[:2]].append(row)  # (customer_id, month)
        for partition_rows in by_partition.values():
            for start in range(0, len(partition_rows), ROWS_PER_BATCH):
                chunk = partition_rows[start : start + ROWS_PER_BATCH]
                if len(chunk) == 1:
                    yield self._upsert.bind(chunk[0])
                    continue
                batch = BatchStatement(BatchType.UNLOGGED)
                for row in chunk:
                    batch.add(self._upsert, row)
                yield batch

    def orders_of(self, customer_id: str, month: str) -> list[dict[str, Any]]:
        rows = self._session.execute(self._select, (customer_id, month))
        return [
            {**row._asdict(), "placed_at": row.placed_at.replace(tzinfo=UTC), "customer_id": customer_id}
            for row in rows
        ]


@contextmanager
def open_orders_by_customer(settings: Settings, timeout_s: float = 30.0) -> Iterator[OrdersByCustomer]:
    points = [host_port(part, 9042) for part in settings.cassandra_contact_points.split(",") if part.strip()]
    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=timeout_s)
    cluster = Cluster(
        contact_points=points,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        connect_timeout=timeout_s,
        protocol_version=ProtocolVersion.V4,
    )
    try:
        yield OrdersByCustomer(cluster.connect(settings.cassandra_keyspace))
    finally:
        cluster.shutdown()
