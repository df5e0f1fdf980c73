"""What e-commerce use cases add to the kit's unit of work: the fraud verdict on a result, reference checks."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import psycopg

from ingest.core import unit_of_work
from ingest.core.errors import NotFound
from ingest.ecommerce import catalog, store
from ingest.ecommerce.commands import Command
from ingest.ecommerce.context import EcommerceContext
from ingest.ecommerce.contract import DOMAIN


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
class Accepted(unit_of_work.Accepted):
    """The kit's result of a command; ``fraud`` is set for an order placed where fraud scoring is on (the HTTP
    app), also on its replays once checked."""

    fraud: FraudVerdict | None = None


def transaction(ctx: EcommerceContext, kind: str, command_id: str) -> AbstractContextManager[psycopg.Connection]:
    """One transaction for one command, holding the lock of its id so a concurrent retry waits for the original."""
    return unit_of_work.transaction(ctx.pool, DOMAIN, ctx.actor, kind, command_id)


def replayed(conn: psycopg.Connection, table: str, key_column: str, command: Command, resource: str) -> Accepted | None:
    """The earlier result when ``command`` was already applied; raises if its id was used with other content."""
    return unit_of_work.replayed(conn, DOMAIN, table, key_column, command, resource, Accepted)


def require_customer(conn: psycopg.Connection, customer_id: str) -> None:
    if not store.customer_exists(conn, customer_id):
        raise NotFound(f"customer_id: customer {customer_id!r} does not exist (register it first)")


def require_products(ctx: EcommerceContext, product_ids: list[str]) -> dict[str, catalog.Product]:
    found = catalog.find_products(ctx.products, product_ids)
    missing = sorted(set(product_ids) - set(found))
    if missing:
        raise NotFound(f"product_id: product(s) {', '.join(map(repr, missing))} not in the catalog")
    return found


def require_listed(ctx: EcommerceContext, product_ids: list[str]) -> None:
    """Every product exists in the catalog (an order's check: its lines carry their prices)."""
    missing = ctx.known_products.missing(product_ids)
    if missing:
        raise NotFound(f"product_id: product(s) {', '.join(map(repr, missing))} not in the catalog")
