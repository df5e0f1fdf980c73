"""What a use case needs to run: the PostgreSQL pool, the catalog collection and who is acting.

`open_context` owns the clients' lifecycle (open on entry, close on exit); the HTTP app holds one for its lifetime,
the generator and importer one per run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from psycopg_pool import ConnectionPool
from pymongo import MongoClient
from pymongo.collection import Collection

from ingest.ecommerce.catalog import COLLECTION
from lakehouse.settings import Settings


@dataclass(frozen=True)
class EcommerceContext:
    pool: ConnectionPool
    products: Collection
    # Recorded as created_by/updated_by and in the audit log: "api", "generator", "importer:<file>", ...
    actor: str = "system"


@contextmanager
def open_context(settings: Settings, actor: str = "system", pool_size: int = 4) -> Iterator[EcommerceContext]:
    pool = ConnectionPool(settings.postgres_url, min_size=1, max_size=pool_size, open=False, name="ecommerce")
    mongo: MongoClient = MongoClient(settings.mongo_url, serverSelectionTimeoutMS=10_000, tz_aware=True)
    try:
        pool.open(wait=True, timeout=30)
        yield EcommerceContext(pool, mongo[settings.mongo_database][COLLECTION], actor)
    finally:
        mongo.close()
        pool.close()
