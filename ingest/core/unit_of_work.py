"""What every PostgreSQL use case of every domain shares: its result type, its transaction (with the acting user
for the audit trail and a lock on the command's id), and replay detection.

Every function runs inside the caller's transaction, so a use case's rows, their audit trail (written by trigger)
and its outbox events commit together.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, TypeVar

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool
from pydantic import BaseModel

from ingest.core.idempotency import is_replay


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
