"""Schemathesis against the OpenAPI of every domain app, on the real stack: generated requests, valid and invalid,
for every operation; no 5xx, every status code documented, every response shaped as documented, the Allow header
of a 405 right. Schema-valid requests that the domain refuses (an order for a customer that does not exist) are
not failures, so the "valid data is accepted" check is left out.

The apps write to a database, document store and keyspace of their own (``lakehouse_fuzz``): the thousands of rows
and outbox events the fuzzer makes never reach the topics, relays and lake the other tests (and the main job) read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from urllib.parse import urlsplit

import psycopg
import pytest
import schemathesis
from app_keys import dev_headers
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from ingest.domains import storage_declarations
from lakehouse.settings import Settings
from stack.bootstrap import apply_all

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLES = 10  # per operation: enough to reach every refusal path of these small schemas, and CI stays short
TENANT = "lakehouse_fuzz"


def isolated(settings: Settings) -> Settings:
    """The same servers, another PostgreSQL database, MongoDB database and Cassandra keyspace."""
    postgres = urlsplit(settings.postgres_url)._replace(path=f"/{TENANT}").geturl()
    changes = {"postgres_url": postgres, "mongo_database": TENANT, "cassandra_keyspace": TENANT}
    return Settings(**settings.model_dump() | changes)


FUZZED = isolated(Settings())


def _apps() -> dict[str, FastAPI]:
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


# Built at import (schemathesis parametrizes from the schema at collection); nothing connects before their lifespan.
APPS = _apps()


def served_schema(app: FastAPI):  # noqa: ANN201 - schemathesis' OpenApiSchema
    """The app's OpenAPI, read without starting the app (``from_asgi`` would run its lifespan at collection, before
    the stack and the tenant exist); cases are then sent to the app in-process."""
    schema = schemathesis.openapi.from_dict(app.openapi())
    schema.app = app
    return schema


SCHEMAS = {name: served_schema(app) for name, app in APPS.items()}


@pytest.fixture(scope="module", autouse=True)
def running_apps(stack_settings: Settings) -> Iterator[None]:
    with psycopg.connect(stack_settings.postgres_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (TENANT,)).fetchone() is None:
            conn.execute(f"CREATE DATABASE {TENANT}")
    apply_all(FUZZED, storage_declarations(), progress=lambda line: None)
    with ExitStack() as stack:
        for app in APPS.values():
            stack.enter_context(TestClient(app))  # runs the app's lifespan: its pools and clients open
        yield


def check(case, domain: str) -> None:  # noqa: ANN001 - a schemathesis Case
    # As a client holding every scope: a key's own refusals (401, 403, 429) are tested in test_api_keys.
    case.call_and_validate(headers=dev_headers(domain), excluded_checks=[positive_data_acceptance])


# Derandomized: the same cases every run, so CI fails only on a change, never on a lucky draw.
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@SCHEMAS["ecommerce"].parametrize()
@FUZZ
def test_ecommerce_app(case) -> None:  # noqa: ANN001
    check(case, "ecommerce")


@SCHEMAS["chat"].parametrize()
@FUZZ
def test_chat_app(case) -> None:  # noqa: ANN001
    check(case, "chat")


@SCHEMAS["social"].parametrize()
@FUZZ
def test_social_app(case) -> None:  # noqa: ANN001
    check(case, "social")


@SCHEMAS["iot"].parametrize()
@FUZZ
def test_iot_app(case) -> None:  # noqa: ANN001
    check(case, "iot")
