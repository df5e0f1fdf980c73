"""Shared fixtures: one settings object, one real local stack, one Spark session per test run.

Integration tests find the running stack or start it (`Stack.up` is idempotent): they never skip for a missing
service. Each test names its own topics, tables and keys so runs do not collide.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from pyspark.sql import SparkSession

from lakehouse.settings import Settings
from lakehouse.spark import spark_session
from stack.manager import Stack


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # The stack's data stays in the project's var/; the lake of a test run is a throwaway folder.
    return Settings(lake_root=str(tmp_path_factory.mktemp("lake")))


@pytest.fixture(scope="session")
def stack_settings(settings: Settings) -> Settings:
    Stack(settings).up(progress=lambda line: print(f"[stack] {line}"))
    return settings


@pytest.fixture(scope="session")
def spark(settings: Settings) -> Iterator[SparkSession]:
    session = spark_session(settings, app_name="lakehouse-tests")
    yield session
    session.stop()


@pytest.fixture
def unique_name() -> str:
    """A name no other test (or earlier run) uses: for topics, tables, keys and groups."""
    return f"t_{uuid.uuid4().hex[:12]}"
