"""What the social use cases and reads need, opened and closed in one place: the PostgreSQL pool, the post
documents, the Cassandra views, and (for the app) an HTTP client for the sentiment service."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import httpx
from psycopg_pool import ConnectionPool
from pymongo import MongoClient
from pymongo.collection import Collection

from ingest.social.documents import COLLECTION
from ingest.social.feeds import SocialViews, open_views
from lakehouse.settings import Settings


@dataclass(frozen=True)
class SocialContext:
    settings: Settings
    pool: ConnectionPool
    posts: Collection
    views: SocialViews | None  # None: a writer that never reads feeds (generator, importer)
    actor: str = "system"
    # None: content is queued for moderation and left to `lakehouse social moderate-pending` (bulk loads).
    moderation: httpx.Client | None = None


@contextmanager
def open_context(
    settings: Settings, actor: str = "system", pool_size: int = 4, views: bool = True, moderation: bool = False
) -> Iterator[SocialContext]:
    with ExitStack() as stack:
        pool = ConnectionPool(settings.postgres_url, min_size=1, max_size=pool_size, open=False, name="social")
        stack.callback(pool.close)
        pool.open(wait=True, timeout=30)
        mongo: MongoClient = MongoClient(settings.mongo_url, serverSelectionTimeoutMS=10_000, tz_aware=True)
        stack.callback(mongo.close)
        opened_views = stack.enter_context(open_views(settings)) if views else None
        client = stack.enter_context(httpx.Client()) if moderation else None
        yield SocialContext(settings, pool, mongo[settings.mongo_database][COLLECTION], opened_views, actor, client)
