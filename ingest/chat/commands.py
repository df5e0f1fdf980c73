"""What a client can ask of chat: one pydantic model per command, validated before any use case runs.

Every command carries an id chosen by the client (the user id and room id for registration and creation, a
``command_id`` for everything else), so a retry is recognised and changes nothing. Who acts (``actor_id``) is part
of the command: membership and role rules are checked against it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ingest.chat.contract import SYSTEM_AUTHOR
from ingest.core.commands import Command as KitCommand

Id = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][\w.:@-]*$")


class Command(KitCommand):
    """Frozen, no unknown fields, JSON types as declared (``ingest.core.commands``)."""


class RegisterUser(Command):
    user_id: str = Id
    display_name: str = Field(min_length=1, max_length=100)
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    registered_at: datetime | None = None  # history (generator, importer); None: now


class Preference(Command):
    name: str = Field(min_length=1, max_length=64)
    value: str = Field(max_length=256)


class UpdateProfile(Command):
    command_id: str = Id
    user_id: str = Id
    display_name: str = Field(min_length=1, max_length=100)
    avatar_url: str | None = Field(default=None, max_length=500, pattern=r"^https?://")
    preferences: list[Preference] = Field(default_factory=list, max_length=50)
    blocked_users: list[str] = Field(default_factory=list, max_length=1000)


class CreateRoom(Command):
    room_id: str = Id
    kind: str = Field(pattern=r"^(direct|group|support)$")
    title: str = Field(default="", max_length=200)
    owner_id: str = Id  # joins as owner
    members: list[str] = Field(default_factory=list, max_length=500)  # join as members
    external_ref: str | None = Field(default=None, min_length=1, max_length=128)
    created_at: datetime | None = None


class JoinRoom(Command):
    """Join a room (``actor_id`` == ``user_id``), or add someone / change their role (a moderator or owner)."""

    command_id: str = Id
    room_id: str = Id
    user_id: str = Id
    role: str = Field(default="member", pattern=r"^(member|moderator|owner)$")
    actor_id: str = Id
    at: datetime | None = None


class LeaveRoom(Command):
    """Leave a room (``actor_id`` == ``user_id``), or remove someone (a moderator or owner)."""

    command_id: str = Id
    room_id: str = Id
    user_id: str = Id
    actor_id: str = Id
    at: datetime | None = None


class SendMessage(Command):
    command_id: str = Id
    room_id: str = Id
    author_id: str = Id
    text: str = Field(min_length=1, max_length=5000)
    sent_at: datetime | None = None  # history (generator, importer); None: now


class EditMessage(Command):
    command_id: str = Id
    room_id: str = Id
    message_id: str = Field(min_length=36, max_length=36)
    author_id: str = Id
    text: str = Field(min_length=1, max_length=5000)
    at: datetime | None = None


class DeleteMessage(Command):
    command_id: str = Id
    room_id: str = Id
    message_id: str = Field(min_length=36, max_length=36)
    actor_id: str = Id
    at: datetime | None = None


class ReviewMessage(Command):
    """A moderator's label (1 positive, 0 negative) and decision; ``remove`` also deletes the message."""

    command_id: str = Id
    room_id: str = Id
    message_id: str = Field(min_length=36, max_length=36)
    reviewer_id: str = Id
    label: int = Field(ge=0, le=1)
    decision: str = Field(default="keep", pattern=r"^(keep|remove)$")
    at: datetime | None = None


def is_system(user_id: str) -> bool:
    return user_id == SYSTEM_AUTHOR
