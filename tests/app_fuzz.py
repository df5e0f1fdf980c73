"""The domain apps as the fuzzers run them: built on a tenant of their own (``lakehouse_fuzz``: another PostgreSQL
database, MongoDB database and Cassandra keyspace on the same servers), so the rows and outbox events the fuzzers
make never reach the topics, relays and lake the other tests (and the main job) read. Used by
``tests/integration/test_app_fuzzing.py`` (one request at a time) and ``test_app_links.py`` (stateful, over the
OpenAPI links). Importable: tests/ is on sys.path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit

import psycopg
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ingest.domains import storage_declarations
from lakehouse.settings import Settings
from stack.bootstrap import apply_all

TENANT = "lakehouse_fuzz"


def isolated(settings: Settings) -> Settings:
    """The same servers, another PostgreSQL database, MongoDB database and Cassandra keyspace."""
    postgres = urlsplit(settings.postgres_url)._replace(path=f"/{TENANT}").geturl()
    changes = {"postgres_url": postgres, "mongo_database": TENANT, "cassandra_keyspace": TENANT}
    return Settings(**settings.model_dump() | changes)


FUZZED = isolated(Settings())


def build_apps() -> dict[str, FastAPI]:
    """Every domain app on the fuzzing tenant, built but not started (nothing connects before their lifespan)."""
    from ingest.chat.app import create_app as chat
    from ingest.ecommerce.app import create_app as ecommerce
    from ingest.iot.app import create_app as iot
    from ingest.social.app import create_app as social

    # Moderation calls the sentiment service after commit: tested on its own, off here.
    return {
        "ecommerce": ecommerce(FUZZED),
        "chat": chat(FUZZED, moderation=False),
        "social": social(FUZZED, moderation=False),
        "iot": iot(FUZZED),
    }


def served_schema(app: FastAPI):  # noqa: ANN201 - schemathesis' OpenApiSchema
    """The app's OpenAPI, read without starting the app (``from_asgi`` would run its lifespan at collection, before
    the stack and the tenant exist); cases are then sent to the app in-process."""
    schema = schemathesis.openapi.from_dict(app.openapi())
    schema.app = app
    return schema


@contextmanager
def running_on_tenant(stack_settings: Settings, apps: dict[str, FastAPI]) -> Iterator[None]:
    """The tenant's stores created (once) and migrated, and every app's lifespan entered: its pools open."""
    with psycopg.connect(stack_settings.postgres_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (TENANT,)).fetchone() is None:
            conn.execute(f"CREATE DATABASE {TENANT}")
    apply_all(FUZZED, storage_declarations(), progress=lambda line: None)
    with ExitStack() as stack:
        for app in apps.values():
            stack.enter_context(TestClient(app))
        yield
