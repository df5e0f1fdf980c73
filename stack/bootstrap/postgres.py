"""PostgreSQL migrations: numbered .sql files, each applied in its own transaction and recorded.

A session-level advisory lock serialises concurrent bootstraps (two CLI runs, parallel test workers): the
second one waits, then finds everything applied.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from lakehouse.settings import Settings
from stack.bootstrap.errors import BootstrapError
from stack.bootstrap.plan import AppliedMigration, discover, pending
from stack.bootstrap.report import Progress, Report

STORE = "postgres"
META_SCHEMA = "lakehouse_meta"
# Any fixed bigint works; it only has to be the same for every bootstrap of this project.
ADVISORY_LOCK_KEY = 7_236_450_871_650_012_001


def apply_postgres(
    settings: Settings,
    folder: Path,
    domain: str,
    progress: Progress = print,
    meta_schema: str = META_SCHEMA,
    lock_timeout_s: float = 120.0,
) -> list[str]:
    report = Report(STORE, progress, domain)
    migrations = discover(folder, "sql", STORE)
    table = sql.Identifier(meta_schema, "domain_migrations")
    record = sql.SQL("INSERT INTO {} (domain, version, name, checksum) VALUES (%s, %s, %s, %s)").format(table)
    with _connect(settings) as conn, _advisory_lock(conn, lock_timeout_s, report):
        _ensure_meta_table(conn, meta_schema, table)
        todo = pending(migrations, _applied(conn, table, domain), STORE)
        for migration in todo:
            try:
                with conn.transaction():
                    # Bytes, not str: a migration file may hold several statements, which psycopg sends as-is.
                    conn.execute(migration.body)
                    conn.execute(record, (domain, migration.version, migration.name, migration.checksum))
            except psycopg.Error as error:
                raise BootstrapError(STORE, f"{migration.path.name} failed and was rolled back: {error}") from error
            report(f"applied {migration.label}")
    if not todo:
        report.up_to_date(len(migrations))
    return report.lines


def _connect(settings: Settings) -> psycopg.Connection:
    try:
        conn = psycopg.connect(settings.postgres_url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as error:
        host, port = settings.address(STORE)
        raise BootstrapError(
            STORE, f"cannot connect to {host}:{port} ({error}); is `lakehouse stack up` done?"
        ) from error
    # Settings a migration may read (`current_setting`): the card-token key re-keys stored card fingerprints.
    conn.execute("SELECT set_config('lakehouse.card_token_key', %s, false)", (settings.card_token_key,))
    return conn


@contextmanager
def _advisory_lock(conn: psycopg.Connection, timeout_s: float, report: Report) -> Iterator[None]:
    deadline = time.monotonic() + timeout_s
    waiting = False
    while not conn.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,)).fetchone()[0]:
        if time.monotonic() > deadline:
            raise BootstrapError(STORE, f"another bootstrap held the migration lock over {timeout_s:.0f}s")
        if not waiting:
            report("waiting for another bootstrap to finish")
            waiting = True
        time.sleep(0.2)
    try:
        yield
    finally:
        if not conn.closed:
            conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))


def _ensure_meta_table(conn: psycopg.Connection, meta_schema: str, table: sql.Identifier) -> None:
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(meta_schema)))
    conn.execute(
        sql.SQL("""CREATE TABLE IF NOT EXISTS {} (
        domain text NOT NULL,
        version integer NOT NULL,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(),
        checksum text NOT NULL,
        PRIMARY KEY (domain, version)
    )""").format(table)
    )


def _applied(conn: psycopg.Connection, table: sql.Identifier, domain: str) -> list[AppliedMigration]:
    query = sql.SQL("SELECT version, name, checksum FROM {} WHERE domain = %s ORDER BY version").format(table)
    rows = conn.execute(query, (domain,)).fetchall()
    return [AppliedMigration(version, name, checksum) for version, name, checksum in rows]
