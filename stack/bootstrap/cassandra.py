"""Cassandra: the keyspace, then each domain's numbered .cql files, recorded in ``<keyspace>.domain_migrations``.

Cassandra has no transactions, so a file that fails half-way stays half-applied and unrecorded: write CQL
migrations with ``IF NOT EXISTS`` so the next bootstrap can finish them. Files name tables without a keyspace;
the session runs in the configured one. Concurrent bootstraps are safe for the same reason (idempotent DDL,
records keyed by version).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable, Session
from cassandra.policies import RoundRobinPolicy

from lakehouse.settings import Settings, host_port
from stack.bootstrap.cql import split_statements
from stack.bootstrap.errors import BootstrapError
from stack.bootstrap.plan import AppliedMigration, discover, pending
from stack.bootstrap.report import Progress, Report

STORE = "cassandra"
# One local node; a real ring passes e.g. {"class": "NetworkTopologyStrategy", "dc1": "3"}.
LOCAL_REPLICATION: Mapping[str, str] = {"class": "SimpleStrategy", "replication_factor": "1"}
KEYSPACE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
# Keys and values of the replication map are pasted into CQL (it has no bind markers for DDL).
REPLICATION_WORD = re.compile(r"^[A-Za-z0-9_.\-]+$")
RECORD = "INSERT INTO domain_migrations (domain, version, name, applied_at, checksum) VALUES (%s, %s, %s, %s, %s)"


def apply_cassandra(
    settings: Settings,
    folder: Path,
    domain: str,
    progress: Progress = print,
    keyspace: str | None = None,
    replication: Mapping[str, str] = LOCAL_REPLICATION,
    timeout_s: float = 30.0,
) -> list[str]:
    report = Report(STORE, progress, domain)
    keyspace = keyspace or settings.cassandra_keyspace
    migrations = discover(folder, "cql", STORE)
    cluster = _cluster(settings, timeout_s)
    try:
        session = _connect(cluster, settings)
        _ensure_keyspace(session, keyspace, replication, report)
        session.set_keyspace(keyspace)
        session.execute(
            "CREATE TABLE IF NOT EXISTS domain_migrations (domain text, version int, name text, "
            "applied_at timestamp, checksum text, PRIMARY KEY (domain, version))"
        )
        rows = session.execute("SELECT version, name, checksum FROM domain_migrations WHERE domain = %s", (domain,))
        todo = pending(migrations, [AppliedMigration(r.version, r.name, r.checksum) for r in rows], STORE)
        for migration in todo:
            _apply_file(session, migration.text, migration.path.name)
            applied_at = datetime.now(UTC)
            session.execute(RECORD, (domain, migration.version, migration.name, applied_at, migration.checksum))
            report(f"applied {migration.label}")
    finally:
        cluster.shutdown()
    if not todo:
        report.up_to_date(len(migrations))
    return report.lines


def replication_cql(replication: Mapping[str, str]) -> str:
    if "class" not in replication:
        raise BootstrapError(STORE, f"replication {dict(replication)} names no strategy 'class'")
    for word in (*replication.keys(), *map(str, replication.values())):
        if not REPLICATION_WORD.match(word):
            raise BootstrapError(STORE, f"replication setting {word!r} is not a plain word")
    return "{" + ", ".join(f"'{key}': '{value}'" for key, value in replication.items()) + "}"


def _cluster(settings: Settings, timeout_s: float) -> Cluster:
    points = [host_port(part, 9042) for part in settings.cassandra_contact_points.split(",") if part.strip()]
    # An explicit profile and policy: the driver otherwise warns about guessing a local datacenter.
    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=timeout_s)
    return Cluster(
        contact_points=points,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        connect_timeout=timeout_s,
        control_connection_timeout=timeout_s,
    )


def _connect(cluster: Cluster, settings: Settings) -> Session:
    try:
        return cluster.connect()
    except NoHostAvailable as error:
        raise BootstrapError(
            STORE,
            f"cannot connect to {settings.cassandra_contact_points} ({error}); is `lakehouse stack up` done?",
        ) from error


def _ensure_keyspace(session: Session, keyspace: str, replication: Mapping[str, str], report: Report) -> None:
    if not KEYSPACE_NAME.match(keyspace):
        raise BootstrapError(STORE, f"keyspace name {keyspace!r} must be lower-case letters, digits and '_'")
    wanted = replication_cql(replication)
    row = session.execute("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = %s", (keyspace,)).one()
    if row is None:
        session.execute(f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {wanted}")
        report(f"created keyspace {keyspace} with replication {wanted}")
    elif not _same_replication(row.replication, replication):
        # Changing replication needs a repair afterwards: an operator's decision, not a bootstrap side effect.
        report(f"keyspace {keyspace} keeps its replication {dict(row.replication)} (asked for {wanted})")


def _same_replication(current: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    # The server reports the class fully qualified and the factors as strings.
    def short(options: Mapping[str, str]) -> dict[str, str]:
        return {key: str(value).rsplit(".", 1)[-1] if key == "class" else str(value) for key, value in options.items()}

    return short(current) == short(wanted)


def _apply_file(session: Session, text: str, file_name: str) -> None:
    try:
        statements = split_statements(text)
    except ValueError as error:
        raise BootstrapError(STORE, f"{file_name}: {error}") from error
    for number, statement in enumerate(statements, start=1):
        try:
            session.execute(statement)
        except Exception as error:  # the driver raises many unrelated types; all mean this statement failed
            raise BootstrapError(
                STORE,
                f"{file_name} statement {number} failed ({error}); statements "
                f"before it stay applied, the migration is not recorded",
            ) from error
