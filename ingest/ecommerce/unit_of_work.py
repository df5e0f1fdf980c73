"""What every PostgreSQL use case shares: its result type, its transaction, replay detection, reference checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import psycopg

from ingest.ecommerce import catalog, store
from ingest.ecommerce.commands import Command
from ingest.ecommerce.context import EcommerceContext
from ingest.ecommerce.errors import NotFound
from ingest.ecommerce.idempotency import is_replay


@dataclass(frozen=True)
class FraudVerdict:
    """The fraud check of a placed order: the service's answer, or ``unscored`` with the reason it gave none."""

    decision: Literal["approve", "review", "decline", "unscored"]
    checked_at: datetime
    score: float | None = None
    model_version: str | None = None
    features_source: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Accepted:
    """What a command did: ``created`` a resource, ``updated`` one, or nothing (``unchanged``: a replay).

    ``fraud`` is set for an order placed where fraud scoring is on (the HTTP app), also on its replays once checked.
    """

    resource: str
    id: str
    outcome: Literal["created", "updated", "unchanged"]
    version: int
    event_ids: tuple[str, ...] = ()
    fraud: FraudVerdict | None = None


@contextmanager
def transaction(ctx: EcommerceContext, kind: str, command_id: str) -> Iterator[psycopg.Connection]:
    """One transaction for one command, holding the lock of its id so a concurrent retry waits for the original."""
    with ctx.pool.connection() as conn, conn.transaction():
        store.set_actor(conn, ctx.actor)
        store.lock_command_id(conn, kind, command_id)
        yield conn


def replayed(conn: psycopg.Connection, table: str, key_column: str, command: Command, resource: str) -> Accepted | None:
    """The earlier result when ``command`` was already applied; raises if its id was used with other content."""
    key = getattr(command, key_column)
    stored = store.stored_command(conn, table, key_column, key)
    if stored is None or not is_replay(stored[0], command, f"{resource} {key}"):
        return None
    return Accepted(resource, key, "unchanged", stored[1])


def require_customer(conn: psycopg.Connection, customer_id: str) -> None:
    if not store.customer_exists(conn, customer_id):
        raise NotFound(f"customer_id: customer {customer_id!r} does not exist (register it first)")


def require_products(ctx: EcommerceContext, product_ids: list[str]) -> dict[str, catalog.Product]:
    found = catalog.find_products(ctx.products, product_ids)
    missing = sorted(set(product_ids) - set(found))
    if missing:
        raise NotFound(f"product_id: product(s) {', '.join(map(repr, missing))} not in the catalog")
    return found
