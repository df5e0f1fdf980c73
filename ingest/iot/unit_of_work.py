"""What IoT use cases add to the kit's unit of work: their result (which may carry a device key, shown once), the
transaction of one command, and the command ledger (``iot.commands``) that recognises a retried command that
creates no row of its own (a status change, a key rotation, a rollout, a configuration, a ticket update)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import psycopg
from pydantic import BaseModel

from ingest.core import unit_of_work
from ingest.core.idempotency import fingerprint, is_replay
from ingest.core.outbox import OutboxEvent
from ingest.iot.context import IotContext
from ingest.iot.contract import DOMAIN


@dataclass(frozen=True)
class Accepted(unit_of_work.Accepted):
    """The kit's result; ``device_key`` is the plain key of a device just registered or re-keyed (shown once)."""

    device_key: str | None = None


@dataclass(frozen=True)
class Outcome:
    """A use case's result and the events it committed (projected to MongoDB after the commit)."""

    accepted: Accepted
    events: list[OutboxEvent] = field(default_factory=list)


def transaction(ctx: IotContext, actor: str, kind: str, command_id: str) -> AbstractContextManager[psycopg.Connection]:
    return unit_of_work.transaction(ctx.pool, DOMAIN, actor, kind, command_id)


def replayed(conn: psycopg.Connection, command: BaseModel, command_id: str, resource: str) -> Outcome | None:
    """The earlier result when ``command_id`` was applied with this content; raises when reused for other content."""
    row = conn.execute(
        "SELECT command_fingerprint, resource_id, resource_version FROM iot.commands WHERE command_id = %s",
        (command_id,),
    ).fetchone()
    if row is None or not is_replay(row[0], command, f"command {command_id}"):
        return None
    return Outcome(Accepted(resource, row[1], "unchanged", row[2]))


def remember(
    conn: psycopg.Connection, command: BaseModel, command_id: str, kind: str, resource_id: str, version: int
) -> None:
    conn.execute(
        """INSERT INTO iot.commands (command_id, kind, command_fingerprint, resource_id, resource_version)
        VALUES (%s, %s, %s, %s, %s)""",
        (command_id, kind, fingerprint(command), resource_id, version),
    )
