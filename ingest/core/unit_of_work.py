"""What every PostgreSQL use case of every domain shares: its result type, its transaction (with the acting user
for the audit trail and a lock on the command's id), and replay detection.

Every function runs inside the caller's transaction, so a use case's rows, their audit trail (written by trigger)
and its outbox events commit together.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool
from pydantic import BaseModel

from ingest.core.idempotency import is_replay
from ingest.core.outbox import OutboxEvent, events_cte


@dataclass(frozen=True)
class Accepted:
    """What a command did: ``created`` a resource, ``updated`` one, or nothing (``unchanged``: a replay)."""

    resource: str
    id: str
    outcome: Literal["created", "updated", "unchanged"]
    version: int
    event_ids: tuple[str, ...] = ()


Result = TypeVar("Result", bound=Accepted)


def lock_command_id(conn: psycopg.Connection, domain: str, kind: str, command_id: str) -> None:
    """Serialise commands sharing an id until the transaction ends, so a retry racing its original sees its result."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{domain}:{kind}:{command_id}",))


def set_actor(conn: psycopg.Connection, domain: str, actor: str) -> None:
    """Name who acts in this transaction; the kit's audit trigger records it on every row it logs."""
    conn.execute("SELECT set_config(%s, %s, true)", (f"{domain}.actor", actor))


@contextmanager
def transaction(
    pool: ConnectionPool, domain: str, actor: str, kind: str, command_id: str
) -> Iterator[psycopg.Connection]:
    """One transaction for one command, holding the lock of its id so a concurrent retry waits for the original."""
    with pool.connection() as conn, conn.transaction():
        set_actor(conn, domain, actor)
        lock_command_id(conn, domain, kind, command_id)
        yield conn


def stored_command(
    conn: psycopg.Connection, domain: str, table: str, key_column: str, key: str
) -> tuple[str, int] | None:
    """The fingerprint of the command that last wrote row ``key`` of ``domain.table``, and the row's version."""
    query = sql.SQL("SELECT command_fingerprint, version FROM {} WHERE {} = %s").format(
        sql.Identifier(domain, table), sql.Identifier(key_column)
    )
    row = conn.execute(query, (key,)).fetchone()
    return None if row is None else (row[0], row[1])


def replayed(
    conn: psycopg.Connection,
    domain: str,
    table: str,
    key_column: str,
    command: BaseModel,
    resource: str,
    result: type[Result] = Accepted,
) -> Result | None:
    """The earlier result when ``command`` was already applied; raises if its id was used with other content."""
    key = getattr(command, key_column)
    stored = stored_command(conn, domain, table, key_column, key)
    if stored is None or not is_replay(stored[0], command, f"{resource} {key}"):
        return None
    return result(resource, key, "unchanged", stored[1])


@dataclass(frozen=True)
class CreateWrites:
    """The rows a creating command writes, as parts of one ``WITH`` statement with named (``%(name)s``) params.

    ``created`` is an ``INSERT ... ON CONFLICT DO NOTHING RETURNING <key>``; each of ``dependents`` inserts only
    ``FROM created`` (e.g. an order's lines), so nothing is written when the key already existed.
    """

    created: sql.Composable
    dependents: Sequence[sql.Composable] = ()
    params: Mapping[str, Any] = field(default_factory=dict)


def create_once(pool: ConnectionPool, domain: str, writes: CreateWrites, events: Sequence[OutboxEvent]) -> bool:
    """Create a resource, its dependent rows and its outbox events in one statement and one round trip.

    The hot path of a creating command: one statement is one transaction (autocommit), so the rows and their
    events commit together or not at all, without a BEGIN or COMMIT of their own; the events are inserted only if
    the resource was. True when it was new; False when its key existed (a replay or a conflict: the caller then
    reads the stored command). No lock on the id is needed: a concurrent retry's insert waits on the key until the
    original commits, then inserts nothing. The audit trail names ``actor`` through the rows' ``created_by`` (the
    kit's trigger falls back to it when no actor is set), which ``writes.created`` must fill.
    """
    parts = [sql.SQL("created AS ({})").format(writes.created)]
    parts += [sql.SQL("dependent_{} AS ({})").format(sql.SQL(str(n)), part) for n, part in enumerate(writes.dependents)]
    outbox_part, outbox_params = events_cte(domain, events, only_if="created")
    statement = sql.SQL("WITH {}, {} SELECT count(*) FROM created").format(sql.SQL(", ").join(parts), outbox_part)
    with pool.connection() as conn:
        conn.autocommit = True
        try:
            row = conn.execute(statement, {**writes.params, **outbox_params}).fetchone()
        finally:
            conn.autocommit = False
    return bool(row and row[0])
