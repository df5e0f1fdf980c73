"""Shared fixtures: one settings object, one real local stack, one Spark session per test run.

Integration tests find the running stack or start it (`Stack.up` is idempotent): they never skip for a missing
service. Each test names its own topics, tables and keys so runs do not collide.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from lakehouse.settings import Settings
from lakehouse.spark import spark_session
from stack.manager import Stack

# A pytest-xdist worker runs as `python -c`: its __main__ has neither __spec__ nor __file__, which pyspark's Spark
# Connect module (imported by Great Expectations) takes for a doctest run, and it exits the worker. A real, empty
# file as the worker's main keeps that check (and a spawned child re-importing __main__) working.
_main = sys.modules["__main__"]
if getattr(_main, "__spec__", None) is None and not hasattr(_main, "__file__"):
    _main.__file__ = str(Path(__file__).with_name("xdist_main.py"))


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`./test.sh` runs two workers (`--dist loadgroup`). The tests on the shared local stack (relays drain whole
    outboxes, services take fixed ports, the main job relays everything) stay serial on one of them; the tests that
    need Spark and nothing else run on the other meanwhile."""
    for item in items:
        if item.get_closest_marker("integration") is not None:
            item.add_marker(pytest.mark.xdist_group("stack"))


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


@pytest.fixture(scope="session")
def fraud_served(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One fraud service for the run (``tests/fraud_served.py`` says what it serves and who shares it)."""
    # Imported here: MLflow and BentoML's client are slow to import, and most tests never need them.
    from fraud_served import API_KEY, TTL_S, Served
    from fraud_synthetic import small_trained_model
    from ports import free_port

    from ingest.domains import storage_declarations
    from lakehouse.mlflow_store import configure_mlflow
    from models.fraud.registry import register_fraud_model
    from serving.registry import served_model
    from serving.server import start_server
    from stack.bootstrap import apply_all

    apply_all(stack_settings, storage_declarations(), progress=lambda line: None)
    port = free_port()
    overrides = {
        "home": tmp_path_factory.mktemp("fraud-home"),
        "fraud_api_key": API_KEY,
        "online_feature_ttl_s": TTL_S,
        "fraud_service_url": f"http://127.0.0.1:{port}",
        "fraud_timeout_s": 10.0,  # a cold first request may be slow on a shared machine; scored is what we test
    }
    settings = Settings(**stack_settings.model_dump(exclude={"home"}) | overrides)
    configure_mlflow(settings)
    trained = small_trained_model()
    register_fraud_model(settings, trained)
    server = start_server(settings, served_model("fraud"), port)
    print(f"fraud service started in {server.started_in_s:.1f}s")
    yield Served(server, settings, trained)
    server.stop()
