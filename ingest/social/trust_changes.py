"""Counting a flag against a user and lowering their trust level by the rule in `trust.py`, in the caller's
transaction: used when a post or comment here is flagged, and when another domain reports a flag (NATS).

A flag for a user id not registered yet is kept, and the level it leads to waits in ``social.pending_trust`` until
they register (registration starts them at that level).
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from ingest.core.outbox import OutboxEvent
from ingest.social import stores
from ingest.social.contract import TRUST_CHANGED, TrustChangedV1
from ingest.social.events import emit
from ingest.social.trust import WINDOW, level_after_flags, reason_for

ACTOR = "trust-rule"


def count_flag(conn: psycopg.Connection, user_id: str, flag_key: str, flagged_at: datetime) -> list[OutboxEvent]:
    """Count one flag (once per ``flag_key``) and apply the rule; the trust_changed event when the level fell."""
    if not stores.add_flag(conn, flag_key, user_id, flagged_at):
        return []
    flags = stores.flags_in_window(conn, user_id, flagged_at, WINDOW.total_seconds() / 3600)
    current = stores.trust_level(conn, user_id, lock=True)
    registered = current is not None
    before = current if registered else stores.pending_trust(conn, user_id)
    after = level_after_flags(before or "normal", flags)
    if after == (before or "normal"):
        return []
    reason = reason_for(flags, flag_key)
    stores.save_trust(conn, user_id, after, reason, ACTOR, registered)
    payload = TrustChangedV1(
        user_id=user_id,
        trust_level=after,
        previous_level=before if registered else None,
        reason=reason,
        flags_24h=flags,
        changed_at=datetime.now(UTC),
    )
    return [emit(conn, TRUST_CHANGED, user_id, payload, payload.changed_at)]
