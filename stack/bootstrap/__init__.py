"""`lakehouse bootstrap`: bring every store to the schema each registered domain declares, idempotently.

Order: PostgreSQL, Cassandra, MongoDB, Kafka, NATS; within a store, domains in registration order, each with its
own migration versions. The first store that fails stops the run with a BootstrapError naming it; what is done
stays done (each step is idempotent, so re-running after a fix is the remedy). The caller passes the declarations (the
top floor collects them from the domains' contracts): the bootstrap knows stores, not domains. Store modules are
imported lazily so `lakehouse --help` does not pay for four client libraries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lakehouse.settings import Settings
from stack.bootstrap.errors import BootstrapError, MigrationError
from stack.bootstrap.plan import StorageDeclaration
from stack.bootstrap.report import Progress

STORES = ("postgres", "cassandra", "mongo", "kafka", "nats")

__all__ = ["STORES", "BootstrapError", "MigrationError", "StorageDeclaration", "apply_all", "apply_store"]


def apply_store(
    store: str, settings: Settings, declarations: Sequence[StorageDeclaration], progress: Progress = print
) -> list[str]:
    """Bootstrap one store for every declaration that keeps something there; returns its progress lines."""
    if store not in STORES:
        raise ValueError(f"unknown store {store!r}; known: {', '.join(STORES)}")
    if store == "kafka":
        from stack.bootstrap.kafka import apply_kafka
        from stack.bootstrap.kafka_topics import declared_topics

        return apply_kafka(settings, declared_topics(t for d in declarations for t in d.topics), progress)
    if store == "nats":
        from stack.bootstrap.nats_streams import apply_nats

        return apply_nats(settings, [s for d in declarations for s in d.streams], progress)
    apply = _migrator(store)
    lines: list[str] = []
    for declaration in declarations:
        folder = declaration.folder(store)
        if folder is not None:
            lines.extend(apply(settings, folder, declaration.domain, progress))
    return lines


def _migrator(store: str) -> Callable[..., list[str]]:
    # The three migrating stores share (settings, folder, domain, progress) as leading parameters.
    if store == "postgres":
        from stack.bootstrap.postgres import apply_postgres

        return apply_postgres
    if store == "cassandra":
        from stack.bootstrap.cassandra import apply_cassandra

        return apply_cassandra
    from stack.bootstrap.mongo import apply_mongo

    return apply_mongo


def apply_all(
    settings: Settings,
    declarations: Sequence[StorageDeclaration],
    progress: Progress = print,
    stores: tuple[str, ...] = STORES,
) -> list[str]:
    """Bootstrap ``stores`` in order; returns every progress line, each also passed to ``progress``."""
    lines: list[str] = []
    for store in stores:
        lines.extend(apply_store(store, settings, declarations, progress))
    return lines
