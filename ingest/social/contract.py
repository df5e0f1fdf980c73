"""The social event contract: one pydantic model per (event type, version), the topic each goes to, and the
domain's topics and migrations (the kit's `DomainContract`).

Topics are ``social.<entity>``; each event is keyed by its aggregate (the user, the follower, the post; a comment
and a reaction by their post, so a thread stays in one partition, in order). A breaking change is a new version.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field

from ingest.core.contract import DomainContract, EventPayload
from stack.bootstrap.kafka_topics import retained_topic

DOMAIN = "social"
USERS_TOPIC, FOLLOWS_TOPIC = "social.users", "social.follows"
POSTS_TOPIC, COMMENTS_TOPIC, REACTIONS_TOPIC = "social.posts", "social.comments", "social.reactions"
TOPICS = (USERS_TOPIC, FOLLOWS_TOPIC, POSTS_TOPIC, COMMENTS_TOPIC, REACTIONS_TOPIC)

TRUST_LEVELS = ("trusted", "normal", "restricted")
# published: in followers' feeds; held: a restricted author's post waiting for its moderation; rejected: held and
# flagged (never shown); flagged: published, then flagged (kept in feeds, marked); removed: a moderator removed it.
POST_STATUSES = ("published", "held", "rejected", "flagged", "removed")
REACTION_KINDS = ("like", "love", "haha", "wow", "sad", "angry")
TrustLevel = Literal["trusted", "normal", "restricted"]
PostStatus = Literal["published", "held", "rejected", "flagged", "removed"]
ReactionKind = Literal["like", "love", "haha", "wow", "sad", "angry"]

USER_REGISTERED = ("social.user.registered", 1)
TRUST_CHANGED = ("social.user.trust_changed", 1)
FOLLOW_CHANGED = ("social.follow.changed", 1)
POST_CREATED = ("social.post.created", 1)
POST_MODERATED = ("social.post.moderated", 1)
POST_FLAGGED = ("social.post.flagged", 1)
POST_REVIEWED = ("social.post.reviewed", 1)
COMMENT_ADDED = ("social.comment.added", 1)
COMMENT_MODERATED = ("social.comment.moderated", 1)
COMMENT_FLAGGED = ("social.comment.flagged", 1)
REACTION_ADDED = ("social.reaction.added", 1)


class UserRegisteredV1(EventPayload):
    user_id: str
    handle: str
    email: str  # PII: hashed in silver
    trust_level: str  # one of TRUST_LEVELS (payloads use plain str: the lake's schemas derive from them)
    registered_at: datetime


class TrustChangedV1(EventPayload):
    user_id: str
    trust_level: str
    previous_level: str | None  # None: the user is not registered yet (applied when they register)
    reason: str
    flags_24h: int = Field(ge=0)
    changed_at: datetime


class FollowChangedV1(EventPayload):
    follower_id: str
    followee_id: str
    following: bool
    changed_at: datetime


class PostCreatedV1(EventPayload):
    post_id: str
    author_id: str
    text: str = Field(min_length=1)
    hashtags: list[str]
    topic: str | None  # the first hashtag: the post's topic in gold
    status: str  # one of POST_STATUSES
    created_at: datetime


class ModeratedV1(EventPayload):
    """The sentiment service's decision on a post or a comment (``content_id``), and the status it led to."""

    content_id: str
    post_id: str
    author_id: str
    label: int = Field(ge=0, le=1)
    score: float = Field(ge=0, le=1)  # P(positive)
    flagged: bool
    reason: str
    model_version: str
    status: str
    previous_status: str
    created_at: datetime  # the content's, so a released post lands in feeds at its own time
    moderated_at: datetime


class FlaggedV1(EventPayload):
    content_id: str
    post_id: str
    author_id: str
    score: float = Field(ge=0, le=1)
    reason: str
    flagged_at: datetime


class PostReviewedV1(EventPayload):
    """A moderator's label (1 positive, 0 negative) and decision: ground truth the sentiment model trains from."""

    review_id: str
    post_id: str
    author_id: str
    reviewer_id: str
    label: int = Field(ge=0, le=1)
    decision: str  # keep or remove
    reviewed_at: datetime


class CommentAddedV1(EventPayload):
    comment_id: str
    post_id: str
    author_id: str
    text: str = Field(min_length=1)
    created_at: datetime


class ReactionAddedV1(EventPayload):
    post_id: str
    user_id: str
    kind: str  # one of REACTION_KINDS
    reacted_at: datetime


EVENT_SCHEMAS: dict[tuple[str, int], tuple[type[EventPayload], str]] = {
    USER_REGISTERED: (UserRegisteredV1, USERS_TOPIC),
    TRUST_CHANGED: (TrustChangedV1, USERS_TOPIC),
    FOLLOW_CHANGED: (FollowChangedV1, FOLLOWS_TOPIC),
    POST_CREATED: (PostCreatedV1, POSTS_TOPIC),
    POST_MODERATED: (ModeratedV1, POSTS_TOPIC),
    POST_FLAGGED: (FlaggedV1, POSTS_TOPIC),
    POST_REVIEWED: (PostReviewedV1, POSTS_TOPIC),
    COMMENT_ADDED: (CommentAddedV1, COMMENTS_TOPIC),
    COMMENT_MODERATED: (ModeratedV1, COMMENTS_TOPIC),
    COMMENT_FLAGGED: (FlaggedV1, COMMENTS_TOPIC),
    REACTION_ADDED: (ReactionAddedV1, REACTIONS_TOPIC),
}

CONTRACT = DomainContract(
    name=DOMAIN,
    events=EVENT_SCHEMAS,
    topics=tuple(retained_topic(topic) for topic in TOPICS),
    migrations=Path(__file__).with_name("migrations"),
    entities=dict(zip(("users", "follows", "posts", "comments", "reactions"), TOPICS, strict=True)),
    # Other domains act on these (chat may mute a restricted user; NATS subjects lakehouse.social.*).
    notifications=frozenset({POST_FLAGGED[0], TRUST_CHANGED[0]}),
    scopes={
        "users:write": "register users",
        "follows:write": "follow and unfollow",
        "posts:write": "write posts, comments and reactions",
        "moderation:write": "review flagged posts (a moderation desk)",
        "read": "read posts and feeds",
    },
)
