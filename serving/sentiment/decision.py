"""The moderation rule: flag a piece of content from the model's score and its author's last day.

1. ``very-negative``: P(negative) >= ``flag_negative`` flags the content whoever wrote it.
2. ``negative-author-history``: P(negative) >= ``watch_negative`` (a lower bar) flags it when the author's last day
   is hostile: at least ``history_flagged`` flagged pieces, or at least ``history_min_messages`` pieces of which a
   share of at least ``history_negative_share`` were negative.
3. ``not-flagged`` otherwise.

``reason`` starts with the rule's code and gives the numbers that made it fire, for the moderators. The bars are
settings (``moderation_*``); the rule is a pure function so a test (or a notebook replaying decisions) can call it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lakehouse.settings import Settings


@dataclass(frozen=True)
class ModerationPolicy:
    flag_negative: float = 0.9
    watch_negative: float = 0.7
    history_min_messages: int = 3
    history_negative_share: float = 0.5
    history_flagged: int = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> ModerationPolicy:
        return cls(
            flag_negative=settings.moderation_flag_negative,
            watch_negative=settings.moderation_watch_negative,
            history_min_messages=settings.moderation_history_min_messages,
            history_negative_share=settings.moderation_history_negative_share,
            history_flagged=settings.moderation_history_flagged,
        )


def hostile_history(features: Mapping[str, float], policy: ModerationPolicy) -> str | None:
    """Why the author's last day counts as hostile, or None when it does not."""
    messages, share, flagged = features["messages_24h"], features["negative_share_24h"], features["flagged_24h"]
    if flagged >= policy.history_flagged:
        return f"{flagged:.0f} flagged in 24h"
    if messages >= policy.history_min_messages and share >= policy.history_negative_share:
        return f"{share:.0%} of {messages:.0f} messages negative in 24h"
    return None


def decide(p_positive: float, features: Mapping[str, float], policy: ModerationPolicy) -> tuple[bool, str]:
    """``(flagged, reason)`` for content the model gives ``p_positive`` by an author with ``features``."""
    p_negative = 1.0 - p_positive
    if p_negative >= policy.flag_negative:
        return True, f"very-negative: P(negative) {p_negative:.2f} >= {policy.flag_negative:.2f}"
    history = hostile_history(features, policy)
    if p_negative >= policy.watch_negative and history:
        bar = f"P(negative) {p_negative:.2f} >= {policy.watch_negative:.2f}"
        return True, f"negative-author-history: {bar} and {history}"
    if history:
        return False, f"not-flagged: P(negative) {p_negative:.2f} < {policy.watch_negative:.2f} ({history})"
    return False, f"not-flagged: P(negative) {p_negative:.2f} < {policy.flag_negative:.2f}"
