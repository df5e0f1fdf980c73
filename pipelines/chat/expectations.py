"""What chat silver must look like: one Great Expectations suite per silver table, blocking gold."""

from __future__ import annotations

from collections.abc import Callable

from ingest.chat.contract import REVIEW_DECISIONS, ROLES, ROOM_KINDS
from pipelines.core.expectations import SHA256_HEX, gxe, keyed, not_negative


def _between(column: str, low: float, high: float) -> gxe.Expectation:
    return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high)


SILVER_EXPECTATIONS: dict[str, Callable[[], list[gxe.Expectation]]] = {
    "users": lambda: [
        *keyed("user_id"),
        gxe.ExpectColumnValuesToMatchRegex(column="display_name_hash", regex=SHA256_HEX),
    ],
    "profiles": lambda: [*keyed("user_id"), not_negative("preference_count")],
    "rooms": lambda: [*keyed("room_id"), gxe.ExpectColumnValuesToBeInSet(column="kind", value_set=list(ROOM_KINDS))],
    "memberships": lambda: [
        *keyed("room_id", "user_id"),
        gxe.ExpectColumnValuesToBeInSet(column="role", value_set=list(ROLES)),
    ],
    "messages": lambda: [
        *keyed("message_id"),
        *keyed("event_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="room_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="author_id"),
        not_negative("mention_count"),
    ],
    "message_edits": lambda: [*keyed("event_id"), gxe.ExpectColumnValuesToNotBeNull(column="message_id")],
    "message_deletions": lambda: [*keyed("message_id")],
    "message_moderations": lambda: [*keyed("message_id"), _between("score", 0, 1), _between("label", 0, 1)],
    "message_reviews": lambda: [
        *keyed("event_id"),
        _between("label", 0, 1),
        gxe.ExpectColumnValuesToBeInSet(column="decision", value_set=list(REVIEW_DECISIONS)),
    ],
}
