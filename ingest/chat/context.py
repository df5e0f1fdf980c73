"""What a chat use case needs: the settings, the PostgreSQL pool, the Cassandra views, the MongoDB profiles, who
is acting, and (in the HTTP app) the client that asks the sentiment service to moderate new messages.

`open_context` owns the clients' lifecycle; the app holds one for its lifetime, the generator, importer, relay and
notification consumers one per run. Without a moderation client, new messages wait in ``chat.unmoderated`` for
``lakehouse chat moderate-pending`` (bulk history is never held to the service's pace).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from psycopg_pool import ConnectionPool
from pymongo import MongoClient

from ingest.chat.profiles import COLLECTION, Profiles
from ingest.chat.views import MessageViews
from ingest.core.cassandra import open_session
from lakehouse.settings import Settings


@dataclass(frozen=True)
class ChatContext:
    settings: Settings
    pool: ConnectionPool
    views: MessageViews
    profiles: Profiles
    # Recorded as created_by/updated_by and in the audit log: "api", "generator", "importer", "notifications", ...
    actor: str = "system"
    # None: new messages are only queued for moderation (moderate-pending scores them).
    moderation: httpx.Client | None = None


@contextmanager
def open_context(
    settings: Settings, actor: str = "system", pool_size: int = 4, moderation: bool = False
) -> Iterator[ChatContext]:
    pool = ConnectionPool(settings.postgres_url, min_size=1, max_size=pool_size, open=False, name="chat")
    mongo: MongoClient = MongoClient(settings.mongo_url, serverSelectionTimeoutMS=10_000, tz_aware=True)
    client = httpx.Client() if moderation else None
    try:
        pool.open(wait=True, timeout=30)
        with open_session(settings) as session:
            profiles = Profiles(mongo[settings.mongo_database][COLLECTION])
            yield ChatContext(settings, pool, MessageViews(session), profiles, actor, client)
    finally:
        if client is not None:
            client.close()
        mongo.close()
        pool.close()
