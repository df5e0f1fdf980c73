"""Bulk writes for any domain: many commands per transaction, COPY into temporary staging tables, then one
``INSERT … SELECT … ON CONFLICT DO NOTHING`` per business table, and outbox rows only for what was inserted.

A batch stages each command's rows under a ``seq`` (its position in the batch). ``insert_new`` records in
``bulk_applied`` the seq of every staged row it actually inserted; ``append_outbox`` then copies only the events
staged under those seqs, in the order they were staged. A command already applied (same id, same fingerprint)
inserts nothing and emits nothing, so a re-run or a resumed run adds nothing twice. The same id with another
fingerprint is a conflict: ``reject_conflicts`` records its seq in ``bulk_rejected`` and returns it for the
caller to report. Audit triggers fire on every inserted row as in the per-command path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from ingest.core.envelope import EventEnvelope

APPLIED = sql.Identifier("bulk_applied")
ANY_ROW = sql.SQL("TRUE")
REJECTED = sql.Identifier("bulk_rejected")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass(frozen=True)
class StagingTable:
    """A temporary table emptied at each commit: ``columns`` are (name, SQL type) pairs, ``seq`` first."""

    name: str
    columns: tuple[tuple[str, str], ...]

    @property
    def identifier(self) -> sql.Identifier:
        return sql.Identifier(self.name)

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]


# The events of a batch: ``position`` keeps the order they were built in, ``seq`` names the command they belong to.
EVENTS = StagingTable(
    "stage_events",
    (
        ("position", "integer"),
        ("seq", "integer"),
        ("event_id", "uuid"),
        ("topic", "text"),
        ("message_key", "text"),
        ("event_type", "text"),
        ("event_version", "integer"),
        ("envelope", "text"),
    ),
)


def _copy_text(value: str) -> str:
    # Most values are ids and numbers: skip the translation unless a character needs escaping.
    return value if value.isprintable() and "\\" not in value else value.translate(_COPY_ESCAPES)


_COPY_FORMATS: dict[type, Callable[[Any], str]] = {
    str: _copy_text,
    int: str,
    Decimal: str,
    datetime: datetime.isoformat,
    bool: lambda value: "t" if value else "f",
    type(None): lambda _: "\\N",
}


def copy_value(value: Any) -> str:
    """One field in COPY's text format (``\\N`` is NULL; backslash, tab and line breaks escaped)."""
    try:
        return _COPY_FORMATS[type(value)](value)
    except KeyError:
        raise TypeError(f"no COPY text form for {type(value).__name__}") from None


def copy_line(values: Iterable[Any]) -> str:
    return "\t".join(map(copy_value, values)) + "\n"


def envelope_text(envelope: EventEnvelope) -> str:
    """Exactly ``envelope.to_json()``'s text, without ``dataclasses.asdict``'s deep copy (most of its cost)."""
    fields = {
        "event_id": envelope.event_id,
        "key": envelope.key,
        "occurred_at": envelope.occurred_at,
        "payload": envelope.payload,
        "type": envelope.type,
        "version": envelope.version,
    }
    return json.dumps(fields, separators=(",", ":"), sort_keys=True)


def create_staging(conn: psycopg.Connection, tables: Iterable[StagingTable]) -> None:
    """The session's staging tables, plus ``bulk_applied`` and ``bulk_rejected`` (seqs), all emptied at commit."""
    ddl = "CREATE TEMP TABLE IF NOT EXISTS {} ({}) ON COMMIT DELETE ROWS"
    for table in [*tables, EVENTS]:
        columns = sql.SQL(", ").join(sql.SQL("{} " + kind).format(sql.Identifier(n)) for n, kind in table.columns)
        conn.execute(sql.SQL(ddl).format(table.identifier, columns))
    for marks in (APPLIED, REJECTED):
        conn.execute(sql.SQL(ddl).format(marks, sql.SQL("seq integer PRIMARY KEY")))


def copy_into(conn: psycopg.Connection, table: StagingTable, text: str) -> None:
    """Load ``text`` (lines made by ``copy_line``, in ``table``'s column order) into the staging table."""
    if not text:
        return
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        table.identifier, sql.SQL(", ").join(map(sql.Identifier, table.column_names))
    )
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write(text.encode())


def reject_conflicts(
    conn: psycopg.Connection, target: sql.Identifier, stage: StagingTable, key: str, owner: str = "seq"
) -> list[tuple[int, str]]:
    """Staged rows whose id already exists with another command fingerprint: their ``owner`` seq is marked
    rejected (and returned with the id), so nothing of that command is inserted."""
    query = sql.SQL(
        """WITH conflicts AS (
            SELECT s.{owner} AS seq, s.{key} AS id FROM {stage} s JOIN {target} t ON t.{key} = s.{key}
            WHERE t.command_fingerprint <> s.command_fingerprint
              AND NOT EXISTS (SELECT 1 FROM {applied} a WHERE a.seq = s.seq)
              AND NOT EXISTS (SELECT 1 FROM {rejected} r WHERE r.seq = s.{owner})),
        marked AS (INSERT INTO {rejected} (seq) SELECT DISTINCT seq FROM conflicts ON CONFLICT DO NOTHING)
        SELECT seq, id FROM conflicts ORDER BY seq"""
    ).format(
        owner=sql.Identifier(owner),
        key=sql.Identifier(key),
        stage=stage.identifier,
        target=target,
        applied=APPLIED,
        rejected=REJECTED,
    )
    return [(seq, str(found)) for seq, found in conn.execute(query).fetchall()]


def insert_new(
    conn: psycopg.Connection,
    target: sql.Identifier,
    stage: StagingTable,
    key: str,
    actor: str,
    *,
    owner: str = "seq",
    condition: sql.Composable = ANY_ROW,
    staged_only: frozenset[str] = frozenset(),
) -> int:
    """Insert the staged rows whose id is new (the first staged one per id; none whose ``owner`` is rejected or
    that fail ``condition`` on ``s``); record their seqs in ``bulk_applied``. Returns how many were inserted.
    Every staged column but ``seq``, ``owner`` and ``staged_only`` is a column of ``target``."""
    columns = [name for name in stage.column_names if name not in {"seq", owner, *staged_only}]
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    query = sql.SQL(
        """WITH inserted AS (
            INSERT INTO {target} ({names}, created_by, updated_by)
            SELECT DISTINCT ON (s.{key}) {values}, %(actor)s, %(actor)s FROM {stage} s
            WHERE NOT EXISTS (SELECT 1 FROM {rejected} r WHERE r.seq = s.{owner}) AND ({condition})
            ORDER BY s.{key}, s.seq
            ON CONFLICT DO NOTHING RETURNING {key})
        INSERT INTO {applied} (seq) SELECT min(s.seq) FROM {stage} s JOIN inserted i ON i.{key} = s.{key}
        GROUP BY s.{key}"""
    ).format(
        target=target,
        names=names,
        values=sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c)) for c in columns),
        key=sql.Identifier(key),
        stage=stage.identifier,
        rejected=REJECTED,
        owner=sql.Identifier(owner),
        condition=condition,
        applied=APPLIED,
    )
    return conn.execute(query, {"actor": actor}).rowcount


def insert_children(conn: psycopg.Connection, target: sql.Identifier, stage: StagingTable, actor: str) -> int:
    """Insert the staged child rows (order lines, ...) of the parents applied in this batch (by their ``seq``)."""
    columns = [name for name in stage.column_names if name != "seq"]
    query = sql.SQL(
        """INSERT INTO {target} ({names}, created_by, updated_by)
        SELECT {values}, %(actor)s, %(actor)s FROM {stage} s JOIN {applied} a ON a.seq = s.seq"""
    ).format(
        target=target,
        names=sql.SQL(", ").join(map(sql.Identifier, columns)),
        values=sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c)) for c in columns),
        stage=stage.identifier,
        applied=APPLIED,
    )
    return conn.execute(query, {"actor": actor}).rowcount


def append_outbox(conn: psycopg.Connection, domain: str) -> int:
    """Copy the staged events of the applied commands to ``domain``'s outbox, in the order they were staged."""
    query = sql.SQL(
        """INSERT INTO {outbox} (event_id, topic, message_key, event_type, event_version, envelope)
        SELECT e.event_id, e.topic, e.message_key, e.event_type, e.event_version, e.envelope
        FROM {events} e JOIN {applied} a ON a.seq = e.seq ORDER BY e.position"""
    ).format(outbox=sql.Identifier(domain, "outbox"), events=EVENTS.identifier, applied=APPLIED)
    return conn.execute(query).rowcount


def checkpoint_table(domain: str) -> sql.Identifier:
    return sql.Identifier(domain, "import_checkpoints")


def read_checkpoint(conn: psycopg.Connection, domain: str, import_key: str) -> tuple[int, int]:
    """(commands, rows) committed by earlier runs of the import ``import_key``; (0, 0) for a new one."""
    query = sql.SQL("SELECT commands_committed, rows_committed FROM {} WHERE import_key = %s")
    row = conn.execute(query.format(checkpoint_table(domain)), (import_key,)).fetchone()
    return (0, 0) if row is None else (row[0], row[1])


def save_checkpoint(
    conn: psycopg.Connection, domain: str, import_key: str, source: str, progress: tuple[int, int], finished: bool
) -> None:
    """Record (commands, rows) committed, inside the batch's transaction: it moves only if the batch commits."""
    query = sql.SQL(
        """INSERT INTO {} (import_key, source, commands_committed, rows_committed, finished_at)
        VALUES (%s, %s, %s, %s, CASE WHEN %s THEN now() END)
        ON CONFLICT (import_key) DO UPDATE SET commands_committed = EXCLUDED.commands_committed,
            rows_committed = EXCLUDED.rows_committed, updated_at = now(), finished_at = EXCLUDED.finished_at"""
    ).format(checkpoint_table(domain))
    conn.execute(query, (import_key, source, *progress, finished))
