"""`lakehouse bootstrap`: bring every store's schema to the version this code declares, idempotently.

Order: PostgreSQL, Cassandra, MongoDB, Kafka. The first store that fails stops the run with a BootstrapError
naming it; stores already done stay done (each is idempotent, so re-running after a fix is the remedy).
Store modules are imported lazily so `lakehouse --help` does not pay for four client libraries.
"""

from __future__ import annotations

from lakehouse.bootstrap.errors import BootstrapError, MigrationError
from lakehouse.bootstrap.report import Progress
from lakehouse.settings import Settings

STORES = ("postgres", "cassandra", "mongo", "kafka")

__all__ = ["STORES", "BootstrapError", "MigrationError", "apply_all", "apply_store"]


def apply_store(store: str, settings: Settings, progress: Progress = print) -> list[str]:
    """Bootstrap one store with its local defaults; returns its progress lines."""
    if store == "postgres":
        from lakehouse.bootstrap.postgres import apply_postgres

        return apply_postgres(settings, progress)
    if store == "cassandra":
        from lakehouse.bootstrap.cassandra import apply_cassandra

        return apply_cassandra(settings, progress)
    if store == "mongo":
        from lakehouse.bootstrap.mongo import apply_mongo

        return apply_mongo(settings, progress)
    if store == "kafka":
        from lakehouse.bootstrap.kafka import apply_kafka

        return apply_kafka(settings, progress)
    raise ValueError(f"unknown store {store!r}; known: {', '.join(STORES)}")


def apply_all(settings: Settings, progress: Progress = print, stores: tuple[str, ...] = STORES) -> list[str]:
    """Bootstrap ``stores`` in order; returns every progress line, each also passed to ``progress``."""
    lines: list[str] = []
    for store in stores:
        lines.extend(apply_store(store, settings, progress))
    return lines
