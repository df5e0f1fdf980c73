"""The chat app's request bodies and responses. The acting user is not in a body: it is the ``X-User-Id`` header
(what an identity gateway in front of the app would set), so nobody can post as someone else by editing JSON."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from ingest.chat.commands import Id, Preference
from ingest.core.commands import JsonTyped


class Body(JsonTyped):
    model_config = ConfigDict(extra="forbid")


class ProfileBody(Body):
    command_id: str = Id
    display_name: str = Field(min_length=1, max_length=100)
    avatar_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://")
    preferences: list[Preference] = Field(default_factory=list, max_length=50)
    blocked_users: list[str] = Field(default_factory=list, max_length=1000)


class RoomBody(Body):
    room_id: str = Id
    kind: str = Field(pattern=r"^(direct|group|support)$")
    title: str = Field(default="", max_length=200)
    members: list[str] = Field(default_factory=list, max_length=500)
    external_ref: str | None = Field(default=None, min_length=1, max_length=128)


class MemberBody(Body):
    command_id: str = Id
    role: str = Field(default="member", pattern=r"^(member|moderator|owner)$")


class MessageBody(Body):
    command_id: str = Id
    text: str = Field(min_length=1, max_length=5000)


class ReviewBody(Body):
    command_id: str = Id
    label: int = Field(ge=0, le=1, description="1 positive, 0 negative")
    decision: str = Field(default="keep", pattern=r"^(keep|remove)$")


class AcceptedOut(BaseModel):
    resource: str
    id: str
    outcome: str
    version: int
    event_ids: list[str]
    moderation: str | None = Field(default=None, description="scored, flagged, unscored (service down) or queued")


class MessageOut(BaseModel):
    message_id: str
    room_id: str
    day: str
    author_id: str | None = None
    body: str | None = None
    sent_at: datetime | None = None
    edited_at: datetime | None = None
    deleted: bool
    label: int | None = None
    score: float | None = None
    flagged: bool | None = None
    moderation: str | None = None


class PageOut(BaseModel):
    messages: list[MessageOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next (older) page; null: no more")
