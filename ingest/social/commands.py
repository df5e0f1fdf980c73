"""What callers ask the social app to do: HTTP bodies, the generator and the importer all produce these, so every
path into the domain goes through the same use cases.

Ids are chosen by the caller, which makes each command idempotent: a post, comment or review id sent twice with the
same content is a replay; a follow or a reaction is its own key (setting what is already set changes nothing).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ingest.core.commands import Command as KitCommand
from ingest.social.contract import ReactionKind

Id = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
MAX_TEXT = 5000


class Command(KitCommand):
    """Frozen, no unknown fields, JSON types as declared (``ingest.core.commands``)."""


class RegisterUser(Command):
    user_id: str = Id
    handle: str = Field(min_length=1, max_length=64)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    registered_at: datetime | None = None  # None: now


class ChangeFollow(Command):
    follower_id: str = Id
    followee_id: str = Id
    following: bool = True  # False: unfollow
    changed_at: datetime | None = None


class CreatePost(Command):
    post_id: str = Id
    author_id: str = Id
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    topic: str | None = Field(default=None, max_length=50)  # None: the text's first #tag
    created_at: datetime | None = None


class AddComment(Command):
    comment_id: str = Id
    post_id: str = Id
    author_id: str = Id
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    created_at: datetime | None = None


class React(Command):
    post_id: str = Id
    user_id: str = Id
    kind: ReactionKind
    reacted_at: datetime | None = None


class ReviewPost(Command):
    """A moderator's reading of a post: its true sentiment label and whether it stays."""

    review_id: str = Id
    post_id: str = Id
    reviewer_id: str = Id
    label: int = Field(ge=0, le=1)
    decision: str = Field(pattern=r"^(keep|remove)$")
    reviewed_at: datetime | None = None
