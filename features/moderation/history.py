"""An author's recent behaviour, computed from their past moderation decisions: the one piece of arithmetic that
Redis (``online``) and PostgreSQL (``fallback``) both feed, so the two sources cannot disagree on the rules.

A decision counts when it was made in ``(now - WINDOW_S, now]``; the content being decided never counts towards
its own features, so re-moderating the same content gives the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

WINDOW_S = 24 * 3600
FEATURE_NAMES = ("messages_24h", "negative_share_24h", "flagged_24h")


@dataclass(frozen=True)
class PastDecision:
    """One earlier decision on content by the author; ``content_key`` is ``<content_kind>:<content_id>``."""

    content_key: str
    decided_at: float  # unix seconds
    label: int  # 1 positive, 0 negative
    flagged: bool


def content_key(content_kind: str, content_id: str) -> str:
    return f"{content_kind}:{content_id}"


def author_features(
    history: Iterable[PastDecision], now: datetime, *, excluding: str | None = None, window_s: int = WINDOW_S
) -> dict[str, float]:
    """``FEATURE_NAMES`` over the decisions in the window ending at ``now`` (aware), leaving out ``excluding``."""
    since = now.timestamp() - window_s
    recent = [d for d in history if since < d.decided_at <= now.timestamp() and d.content_key != excluding]
    negative = sum(1 for d in recent if d.label == 0)
    return {
        "messages_24h": float(len(recent)),
        "negative_share_24h": negative / len(recent) if recent else 0.0,
        "flagged_24h": float(sum(1 for d in recent if d.flagged)),
    }


def within_window(history: Iterable[PastDecision], now: datetime, window_s: int = WINDOW_S) -> list[PastDecision]:
    """The decisions still inside the window at ``now``: what is worth keeping online."""
    since = now.timestamp() - window_s
    return [d for d in history if d.decided_at > since]
