"""What an IoT use case needs: the settings, the PostgreSQL pool and the MongoDB configuration documents.

`open_context` owns the clients' lifecycle; the app holds one for its lifetime, the relay and the fleet generator
one per run. Who acts is not part of the context: the app takes it from each request (``X-Actor``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from psycopg_pool import ConnectionPool
from pymongo import MongoClient

from ingest.iot.config_docs import COLLECTION, DeviceConfigs
from lakehouse.settings import Settings


@dataclass(frozen=True)
class IotContext:
    settings: Settings
    pool: ConnectionPool
    configs: DeviceConfigs


@contextmanager
def open_context(settings: Settings, pool_size: int = 4) -> Iterator[IotContext]:
    pool = ConnectionPool(settings.postgres_url, min_size=1, max_size=pool_size, open=False, name="iot")
    mongo: MongoClient = MongoClient(settings.mongo_url, serverSelectionTimeoutMS=10_000, tz_aware=True)
    try:
        pool.open(wait=True, timeout=30)
        yield IotContext(settings, pool, DeviceConfigs(mongo[settings.mongo_database][COLLECTION]))
    finally:
        mongo.close()
        pool.close()
