"""The social app's request bodies (where the path carries part of a command) and responses."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from ingest.core.commands import JsonTyped
from ingest.social.commands import MAX_TEXT, Id
from ingest.social.contract import ReactionKind


class Body(JsonTyped):
    model_config = ConfigDict(extra="forbid")


class FollowBody(Body):
    follower_id: str = Id


class CommentBody(Body):
    comment_id: str = Id
    author_id: str = Id
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class ReactionBody(Body):
    user_id: str = Id
    kind: ReactionKind


class ReviewBody(Body):
    review_id: str = Id
    reviewer_id: str = Id
    label: int = Field(ge=0, le=1)
    decision: str = Field(pattern=r"^(keep|remove)$")


class AcceptedOut(BaseModel):
    resource: str
    id: str
    outcome: str
    version: int
    event_ids: list[str]


class CommentOut(BaseModel):
    comment_id: str
    author_id: str | None
    text: str | None
    status: str
    created_at: datetime | None


class PostOut(BaseModel):
    post_id: str
    author_id: str | None
    text: str | None
    hashtags: list[str] | None
    topic: str | None
    status: str | None
    score: float | None = Field(description="P(positive) from moderation; null while unscored")
    created_at: datetime | None
    comments: list[CommentOut]
    reactions: dict[str, int] = {}


class FeedEntryOut(BaseModel):
    post_id: str
    author_id: str
    text: str | None
    hashtags: list[str] | None
    status: str | None
    created_at: datetime | None


class FeedPageOut(BaseModel):
    entries: list[FeedEntryOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")
