"""The chat event contract: one pydantic model per (event type, version), the topic of each entity, and where the
chat migrations live (the kit's `DomainContract`).

Every state change of chat is one of these events, appended to ``chat.outbox`` in the transaction that makes the
change; the relay projects them into Cassandra and MongoDB and the silver pipeline parses them with Spark schemas
derived from these models. Keyed by aggregate: users by user id, rooms and memberships by room id, messages by
room id (so one room's conversation stays in one partition, in order). A breaking change is a new version.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field

from ingest.core import outbox
from ingest.core.contract import DomainContract, EventPayload
from stack.bootstrap.kafka_topics import retained_topic

DOMAIN = "chat"
USERS_TOPIC = "chat.users"
ROOMS_TOPIC = "chat.rooms"
MEMBERSHIPS_TOPIC = "chat.memberships"
MESSAGES_TOPIC = "chat.messages"
TOPICS = (USERS_TOPIC, ROOMS_TOPIC, MEMBERSHIPS_TOPIC, MESSAGES_TOPIC)

ROOM_KINDS = ("direct", "group", "support")
ROLES = ("member", "moderator", "owner")
REVIEW_DECISIONS = ("keep", "remove")
# The author of the messages the platform itself posts (moderation notices, order holds in support rooms).
SYSTEM_AUTHOR = "system"
DAY = r"^\d{4}-\d{2}-\d{2}$"


class UserRegisteredV1(EventPayload):
    user_id: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=100)  # PII: hashed in silver
    email: str | None = None  # PII: hashed in silver
    registered_at: datetime


class PreferenceV1(EventPayload):
    name: str = Field(min_length=1, max_length=64)
    value: str = Field(max_length=256)


class ProfileUpdatedV1(EventPayload):
    """The whole profile as it stands after the change (MongoDB's document is a projection of it)."""

    user_id: str
    display_name: str = Field(min_length=1, max_length=100)  # PII: hashed in silver
    avatar_url: str | None = None
    preferences: list[PreferenceV1]
    blocked_users: list[str]
    profile_version: int = Field(ge=1)
    updated_at: datetime


class RoomCreatedV1(EventPayload):
    room_id: str = Field(min_length=1, max_length=64)
    kind: str = Field(pattern=r"^(direct|group|support)$")
    title: str = Field(max_length=200)
    external_ref: str | None = None  # e.g. "ecommerce:<customer_id>" for a customer's support room
    created_by: str
    created_at: datetime


class MembershipChangedV1(EventPayload):
    room_id: str
    user_id: str
    role: str = Field(pattern=r"^(member|moderator|owner)$")
    active: bool  # false: the user left (or was removed)
    changed_by: str
    changed_at: datetime


class MessageSentV1(EventPayload):
    message_id: str = Field(min_length=36, max_length=36)  # a timeuuid, fixed before the transaction commits
    room_id: str
    day: str = Field(pattern=DAY)  # the Cassandra partition bucket (UTC day of sent_at)
    author_id: str
    text: str = Field(min_length=1, max_length=5000)
    mentions: list[str]
    sent_at: datetime


class MessageEditedV1(EventPayload):
    message_id: str
    room_id: str
    day: str = Field(pattern=DAY)
    author_id: str
    text: str = Field(min_length=1, max_length=5000)
    edited_at: datetime


class MessageDeletedV1(EventPayload):
    message_id: str
    room_id: str
    day: str = Field(pattern=DAY)
    deleted_by: str
    deleted_at: datetime


class MessageModeratedV1(EventPayload):
    message_id: str
    room_id: str
    day: str = Field(pattern=DAY)
    author_id: str
    label: int = Field(ge=0, le=1)  # 1 positive, 0 negative
    score: float = Field(ge=0, le=1)  # P(positive)
    flagged: bool
    reason: str
    model_version: str
    moderated_at: datetime


class MessageFlaggedV1(EventPayload):
    message_id: str
    room_id: str
    day: str = Field(pattern=DAY)
    author_id: str
    score: float = Field(ge=0, le=1)
    reason: str
    flagged_at: datetime


class MessageReviewedV1(EventPayload):
    """A moderator's label on a message: a decision for the room, and a training label for the sentiment model."""

    message_id: str
    room_id: str
    author_id: str
    reviewer_id: str
    label: int = Field(ge=0, le=1)
    decision: str = Field(pattern=r"^(keep|remove)$")
    text: str
    reviewed_at: datetime


USER_REGISTERED = ("chat.user.registered", 1)
PROFILE_UPDATED = ("chat.profile.updated", 1)
ROOM_CREATED = ("chat.room.created", 1)
MEMBERSHIP_CHANGED = ("chat.membership.changed", 1)
MESSAGE_SENT = ("chat.message.sent", 1)
MESSAGE_EDITED = ("chat.message.edited", 1)
MESSAGE_DELETED = ("chat.message.deleted", 1)
MESSAGE_MODERATED = ("chat.message.moderated", 1)
MESSAGE_FLAGGED = ("chat.message.flagged", 1)
MESSAGE_REVIEWED = ("chat.message.reviewed", 1)

EVENT_SCHEMAS: dict[tuple[str, int], tuple[type[EventPayload], str]] = {
    USER_REGISTERED: (UserRegisteredV1, USERS_TOPIC),
    PROFILE_UPDATED: (ProfileUpdatedV1, USERS_TOPIC),
    ROOM_CREATED: (RoomCreatedV1, ROOMS_TOPIC),
    MEMBERSHIP_CHANGED: (MembershipChangedV1, MEMBERSHIPS_TOPIC),
    MESSAGE_SENT: (MessageSentV1, MESSAGES_TOPIC),
    MESSAGE_EDITED: (MessageEditedV1, MESSAGES_TOPIC),
    MESSAGE_DELETED: (MessageDeletedV1, MESSAGES_TOPIC),
    MESSAGE_MODERATED: (MessageModeratedV1, MESSAGES_TOPIC),
    MESSAGE_FLAGGED: (MessageFlaggedV1, MESSAGES_TOPIC),
    MESSAGE_REVIEWED: (MessageReviewedV1, MESSAGES_TOPIC),
}

CONTRACT = DomainContract(
    name=DOMAIN,
    events=EVENT_SCHEMAS,
    topics=tuple(retained_topic(topic) for topic in TOPICS),
    migrations=Path(__file__).with_name("migrations"),
    entities=dict(zip(("users", "rooms", "memberships", "messages"), TOPICS, strict=True)),
    # Published to NATS too: chat itself tells the room's moderators (and any other domain may listen).
    notifications=frozenset({MESSAGE_FLAGGED[0]}),
    scopes={
        "users:write": "register users and change their profiles",
        "rooms:write": "open rooms and change their members",
        "messages:write": "post, edit and delete messages",
        "moderation:write": "review flagged messages (a moderation desk)",
        "read": "read rooms' messages, mentions and profiles",
    },
)


def build_event(
    event: tuple[str, int], key: str, payload: EventPayload | dict[str, Any], occurred_at: datetime
) -> outbox.OutboxEvent:
    """A chat event validated against this contract, ready for the outbox."""
    return outbox.build_event(CONTRACT, event[0], key, payload, occurred_at, event[1])
