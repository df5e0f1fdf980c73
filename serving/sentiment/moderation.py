"""Turning scored items into moderation decisions, in request order: each item is decided with its author's history
as it stands just before it, so two items of one author in one request see each other, as they would one by one.

Pure: the histories come in, the decisions and the history entries to write back go out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from features.moderation.history import FEATURE_NAMES, PastDecision, author_features, content_key
from serving.sentiment.author_features import AuthorHistory
from serving.sentiment.contract import ModerationDecision, ModerationItem
from serving.sentiment.decision import ModerationPolicy, decide


def decide_items(
    items: Sequence[ModerationItem],
    labels: Sequence[int],
    scores: Sequence[float],
    histories: dict[tuple[str, str], AuthorHistory],
    policy: ModerationPolicy,
    now: datetime,
    model: tuple[str, str],
) -> tuple[list[ModerationDecision], dict[tuple[str, str], list[PastDecision]]]:
    """One decision per item, and per (domain, author) the new history entries, latest per content."""
    decisions: list[ModerationDecision] = []
    current = {author: list(history.decisions) for author, history in histories.items()}
    decided: dict[tuple[str, str], dict[str, PastDecision]] = {}
    for item, label, score in zip(items, labels, scores, strict=True):
        author = (item.domain, item.author_id)
        key = content_key(item.content_kind, item.content_id)
        features = author_features(current[author], now, excluding=key)
        flagged, reason = decide(float(score), features, policy)
        entry = PastDecision(key, now.timestamp(), int(label), flagged)
        current[author] = [d for d in current[author] if d.content_key != key] + [entry]
        decided.setdefault(author, {})[key] = entry
        decisions.append(
            ModerationDecision(
                **item.model_dump(exclude={"text"}),
                label=int(label),
                score=float(score),
                flagged=flagged,
                reason=reason,
                model_name=model[0],
                model_version=model[1],
                features_source=histories[author].source,
                features={name: features[name] for name in FEATURE_NAMES},
            )
        )
    return decisions, {author: list(entries.values()) for author, entries in decided.items()}
