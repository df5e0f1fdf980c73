"""Issue and revoke a badge: the kit's unit of work, idempotency and outbox, nothing domain-generic written here."""

from __future__ import annotations

from datetime import UTC, datetime

from psycopg_pool import ConnectionPool
from pydantic import BaseModel

from ingest.core import outbox
from ingest.core.contract import DomainContract
from ingest.core.errors import NotFound
from ingest.core.idempotency import fingerprint
from ingest.core.unit_of_work import Accepted, replayed, transaction
from kitdemo.contract import DOMAIN, ISSUED, REVOKED, BadgeIssuedV1, BadgeRevokedV1


class IssueBadge(BaseModel):
    badge_id: str
    holder: str


class RevokeBadge(BaseModel):
    revocation_id: str
    badge_id: str
    reason: str


def issue_badge(pool: ConnectionPool, contract: DomainContract, command: IssueBadge, actor: str) -> Accepted:
    with transaction(pool, DOMAIN, actor, "badge", command.badge_id) as conn:
        if (earlier := replayed(conn, DOMAIN, "badges", "badge_id", command, "badge")) is not None:
            return earlier
        conn.execute(
            "INSERT INTO kitdemo.badges (badge_id, holder, command_fingerprint, created_by, updated_by)"
            " VALUES (%s, %s, %s, %s, %s)",
            (command.badge_id, command.holder, fingerprint(command), actor, actor),
        )
        now = datetime.now(UTC)
        payload = BadgeIssuedV1(badge_id=command.badge_id, holder=command.holder, issued_at=now)
        event = outbox.build_event(contract, ISSUED[0], command.badge_id, payload, now, ISSUED[1])
        event_ids = outbox.append(conn, DOMAIN, [event])
    return Accepted("badge", command.badge_id, "created", 1, event_ids)


def revoke_badge(pool: ConnectionPool, contract: DomainContract, command: RevokeBadge, actor: str) -> Accepted:
    with transaction(pool, DOMAIN, actor, "revocation", command.revocation_id) as conn:
        row = conn.execute(
            "UPDATE kitdemo.badges SET revoked = true, updated_by = %s WHERE badge_id = %s RETURNING version",
            (actor, command.badge_id),
        ).fetchone()
        if row is None:
            raise NotFound(f"badge_id: badge {command.badge_id!r} was never issued")
        now = datetime.now(UTC)
        payload = BadgeRevokedV1(badge_id=command.badge_id, reason=command.reason, revoked_at=now)
        event = outbox.build_event(contract, REVOKED[0], command.badge_id, payload, now, REVOKED[1])
        event_ids = outbox.append(conn, DOMAIN, [event])
    return Accepted("badge", command.badge_id, "updated", row[0], event_ids)
