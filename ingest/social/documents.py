"""Post documents in MongoDB: one per post, its comment thread embedded, read by ``_id`` only.

Why one document per post with the thread inside: FerretDB 1.24 serves ``_id`` lookups from its key but scans the
collection for any other filter and has no ``$lookup``, so "a post with its thread" must be one ``_id`` read (a
comments collection keyed by post would be a scan per read). Comments are a map keyed by comment id, so adding one
is an idempotent ``$set`` of its own sub-document. A very long thread would approach the 16 MB document limit;
past some thousands of comments it would move to overflow documents ``<post_id>:<n>``, still read by ``_id``.

Why the documents are a projection and not where events start: FerretDB has no multi-document transactions, but
a command also needs PostgreSQL (the author's trust level, idempotency, follows), so the command commits there
with its event in the outbox, and documents are written from the events: right after commit by the app (so a
post reads back at once) and again by the relay after Kafka acknowledged them (so a crash in between loses
nothing). Every write is idempotent and order-tolerant: content is ``$set`` (upserted), and a post's status only
moves forward in event time (``status_at``), so a replayed creation never undoes a later moderation.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

COLLECTION = "social_posts"


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _ensure(posts: Collection, post_id: str, fields: dict[str, Any]) -> None:
    try:
        posts.update_one({"_id": post_id}, {"$set": fields} if fields else {"$setOnInsert": {}}, upsert=True)
    except DuplicateKeyError:  # two upserts raced to create it: it exists now, apply ours
        posts.update_one({"_id": post_id}, {"$set": fields} if fields else {"$setOnInsert": {}})


def _set_status(posts: Collection, post_id: str, status: str, at: datetime, extra: dict[str, Any]) -> None:
    _ensure(posts, post_id, {})
    newer = {"$or": [{"status_at": {"$lt": at}}, {"status_at": {"$exists": False}}]}
    posts.update_one({"_id": post_id, **newer}, {"$set": {"status": status, "status_at": at, **extra}})


def apply_event(posts: Collection, envelope: dict[str, Any]) -> bool:
    """Apply one social event to the post documents; False when the event does not concern them."""
    kind, p = envelope["type"], envelope["payload"]
    if kind == "social.post.created":
        content = {name: p[name] for name in ("author_id", "text", "hashtags", "topic")}
        _ensure(posts, p["post_id"], {**content, "created_at": _time(p["created_at"])})
        _set_status(posts, p["post_id"], p["status"], _time(p["created_at"]), {})
    elif kind == "social.post.moderated":
        moderation = {"moderation": {k: p[k] for k in ("label", "score", "flagged", "reason", "model_version")}}
        _set_status(posts, p["post_id"], p["status"], _time(p["moderated_at"]), moderation)
    elif kind == "social.post.reviewed" and p["decision"] == "remove":
        _set_status(posts, p["post_id"], "removed", _time(p["reviewed_at"]), {})
    elif kind == "social.comment.added":
        prefix = f"comments.{p['comment_id']}"
        fields = {f"{prefix}.{k}": p[k] for k in ("author_id", "text")} | {
            f"{prefix}.created_at": _time(p["created_at"])
        }
        _ensure(posts, p["post_id"], fields)
    elif kind == "social.comment.moderated":
        prefix = f"comments.{p['content_id']}"
        _ensure(posts, p["post_id"], {f"{prefix}.status": p["status"], f"{prefix}.score": p["score"]})
    else:
        return False
    return True


def project(posts: Collection, envelope_texts: list[str]) -> int:
    """The relay's projection (and the app's after-commit write): apply the post and comment events among them."""
    return sum(apply_event(posts, json.loads(text)) for text in envelope_texts)


def post_with_thread(posts: Collection, post_id: str) -> dict[str, Any] | None:
    """The post and its comments, oldest comment first; None when no document exists (yet) for it."""
    doc = posts.find_one({"_id": post_id})
    if doc is None or "text" not in doc:
        return None
    comments = [
        {"comment_id": cid, "status": c.get("status", "unscored"), **{k: c.get(k) for k in ("author_id", "text")}}
        | {"created_at": c.get("created_at")}
        for cid, c in (doc.get("comments") or {}).items()
        if "text" in c
    ]
    comments.sort(key=lambda c: (c["created_at"], c["comment_id"]))
    fields = ("author_id", "text", "hashtags", "topic", "status", "created_at")
    moderation = doc.get("moderation") or {}
    return {"post_id": post_id, **{k: doc.get(k) for k in fields}, "score": moderation.get("score")} | {
        "comments": comments
    }
