"""What a use case needs to run: the PostgreSQL pool, the catalog collection, who is acting, and whether placed
orders are scored for fraud.

`open_context` owns the clients' lifecycle (open on entry, close on exit); the HTTP app holds one for its lifetime,
the generator and importer one per run. Fraud scoring is opt-in: the HTTP app turns it on for orders placed live;
generated and imported history is never scored (past orders need no decision, and a call per order would slow a
bulk load to the service's pace).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from psycopg_pool import ConnectionPool
from pymongo import MongoClient
from pymongo.collection import Collection

from ingest.ecommerce.catalog import COLLECTION
from ingest.ecommerce.known_products import KnownProducts
from lakehouse.settings import Settings


@dataclass(frozen=True)
class FraudScoring:
    """Where placed orders are scored (``fraud_service_url``, key and timeout from the settings), over one client
    whose connections are reused from order to order."""

    settings: Settings
    client: httpx.Client


@dataclass(frozen=True)
class EcommerceContext:
    pool: ConnectionPool
    products: Collection
    # Product ids seen in the catalog (never removed, so never stale); shared by copies made with another actor.
    known_products: KnownProducts
    # Card numbers become tokens under this key at the boundary (`PlaceOrder.protected`).
    card_token_key: str
    # Recorded as created_by/updated_by and in the audit log: "api", "generator", "importer:<file>", ...
    actor: str = "system"
    # None: placed orders are not scored (generated and imported history, tools, most tests).
    fraud: FraudScoring | None = None


@contextmanager
def open_context(
    settings: Settings, actor: str = "system", pool_size: int = 4, fraud_scoring: bool = False
) -> Iterator[EcommerceContext]:
    pool = ConnectionPool(settings.postgres_url, min_size=1, max_size=pool_size, open=False, name="ecommerce")
    mongo: MongoClient = MongoClient(settings.mongo_url, serverSelectionTimeoutMS=10_000, tz_aware=True)
    fraud_client = httpx.Client() if fraud_scoring else None
    try:
        pool.open(wait=True, timeout=30)
        fraud = None if fraud_client is None else FraudScoring(settings, fraud_client)
        products = mongo[settings.mongo_database][COLLECTION]
        # Refused here, before any order is taken: the development key with a database off loopback.
        card_token_key = settings.require_card_token_key(settings.address("postgres")[0])
        yield EcommerceContext(pool, products, KnownProducts(products), card_token_key, actor, fraud)
    finally:
        if fraud_client is not None:
            fraud_client.close()
        mongo.close()
        pool.close()
