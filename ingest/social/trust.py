"""The trust rule: how flags lower a user's trust level. Pure, so it is tested without a database.

Levels run trusted > normal > restricted. A flag is one flagged piece of the user's content, counted once whoever
reports it (a chat message flagged in chat, a post or comment flagged here). Within the last 24 hours:

- ``RESTRICT_AFTER`` (3) flags or more: restricted (their new posts are held until moderated);
- at least one flag: a trusted user becomes normal;
- otherwise the level stays. Flags never raise a level: only a moderator (or time, later) does.
"""

from __future__ import annotations

from datetime import timedelta

RESTRICT_AFTER = 3
WINDOW = timedelta(hours=24)
RANK = {"restricted": 0, "normal": 1, "trusted": 2}


def level_after_flags(current: str, flags_24h: int) -> str:
    """The level a user at ``current`` should have with ``flags_24h`` flags in the last 24 hours."""
    if flags_24h >= RESTRICT_AFTER:
        target = "restricted"
    elif flags_24h >= 1:
        target = "normal"
    else:
        return current
    return target if RANK[target] < RANK[current] else current


def reason_for(flags_24h: int, source: str) -> str:
    return f"{flags_24h} flag(s) in 24h (latest: {source}); restricted from {RESTRICT_AFTER}"
