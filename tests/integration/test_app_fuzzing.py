"""Schemathesis against the OpenAPI of every domain app, on the real stack: generated requests, valid and invalid,
for every operation; no 5xx, every status code documented, every response shaped as documented, the Allow header
of a 405 right. Schema-valid requests that the domain refuses (an order for a customer that does not exist) are
not failures, so the "valid data is accepted" check is left out.

The apps write to a database, document store and keyspace of their own (``lakehouse_fuzz``, see
``tests/app_fuzz.py``): the thousands of rows and outbox events the fuzzer makes never reach the other tests' data.
The stateful fuzzing over the OpenAPI links (create, then read) is ``test_app_links.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from app_fuzz import build_apps, running_on_tenant, served_schema
from app_keys import dev_headers
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from lakehouse.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLES = 10  # per operation: enough to reach every refusal path of these small schemas, and CI stays short

# Built at import (schemathesis parametrizes from the schema at collection); nothing connects before their lifespan.
APPS = build_apps()
SCHEMAS = {name: served_schema(app) for name, app in APPS.items()}


@pytest.fixture(scope="module", autouse=True)
def running_apps(stack_settings: Settings) -> Iterator[None]:
    with running_on_tenant(stack_settings, APPS):
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
