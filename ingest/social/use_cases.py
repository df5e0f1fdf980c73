"""The social use cases: one PostgreSQL transaction each (the kit's unit of work), holding the command's rows and
its events in the outbox; posts and comments are queued for moderation in the same transaction.

A restricted author's post is stored *held*: it is not fanned out to followers until its moderation releases it
(not flagged → published and fanned out; flagged → rejected, never shown). Moderation itself runs after commit
(`moderation.py`), so no command waits on the sentiment service.
"""

from __future__ import annotations

from datetime import UTC, datetime

from psycopg_pool import ConnectionPool

from ingest.core.errors import Conflict, InvalidCommand
from ingest.core.idempotency import as_utc, fingerprint
from ingest.core.moderation import enqueue, item
from ingest.core.unit_of_work import replayed, transaction
from ingest.social import stores
from ingest.social.commands import AddComment, ChangeFollow, CreatePost, React, RegisterUser, ReviewPost
from ingest.social.contract import (
    COMMENT_ADDED,
    DOMAIN,
    FOLLOW_CHANGED,
    POST_CREATED,
    POST_REVIEWED,
    REACTION_ADDED,
    USER_REGISTERED,
    CommentAddedV1,
    FollowChangedV1,
    PostCreatedV1,
    PostReviewedV1,
    ReactionAddedV1,
    UserRegisteredV1,
)
from ingest.social.events import Written, emit, written
from ingest.social.hashtags import hashtags, topic_of

CLOSED_POSTS = frozenset({"rejected", "removed"})


def register_user(pool: ConnectionPool, command: RegisterUser, actor: str) -> Written:
    with transaction(pool, DOMAIN, actor, "user", command.user_id) as conn:
        if (earlier := replayed(conn, DOMAIN, "users", "user_id", command, "user", Written)) is not None:
            return earlier
        level = stores.pending_trust(conn, command.user_id) or "normal"
        at = as_utc(command.registered_at)
        conn.execute(
            "INSERT INTO social.users (user_id, handle, email, trust_level, registered_at, command_fingerprint,"
            " created_by, updated_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (command.user_id, command.handle, command.email, level, at, fingerprint(command), actor, actor),
        )
        conn.execute("DELETE FROM social.pending_trust WHERE user_id = %s", (command.user_id,))
        payload = UserRegisteredV1(**command.model_dump(exclude={"registered_at"}), trust_level=level, registered_at=at)
        event = emit(conn, USER_REGISTERED, command.user_id, payload, at)
    return written("user", command.user_id, "created", 1, [event])


def change_follow(pool: ConnectionPool, command: ChangeFollow, actor: str) -> Written:
    pair = f"{command.follower_id}:{command.followee_id}"
    if command.follower_id == command.followee_id:
        raise InvalidCommand("followee_id: a user cannot follow themselves")
    with transaction(pool, DOMAIN, actor, "follow", pair) as conn:
        stores.require_user(conn, command.follower_id, "follower_id")
        stores.require_user(conn, command.followee_id, "followee_id")
        current = stores.current_following(conn, command.follower_id, command.followee_id)
        if current == command.following or (current is None and not command.following):
            return written("follow", pair, "unchanged", 1, [])
        at = as_utc(command.changed_at)
        conn.execute(
            "INSERT INTO social.follows (follower_id, followee_id, following, changed_at, created_by, updated_by)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (follower_id, followee_id) DO UPDATE"
            " SET following = EXCLUDED.following, changed_at = EXCLUDED.changed_at, updated_by = EXCLUDED.updated_by",
            (command.follower_id, command.followee_id, command.following, at, actor, actor),
        )
        payload = FollowChangedV1(**command.model_dump(exclude={"changed_at"}), changed_at=at)
        event = emit(conn, FOLLOW_CHANGED, command.follower_id, payload, at)
    return written("follow", pair, "created" if current is None else "updated", 1, [event])


def create_post(pool: ConnectionPool, command: CreatePost, actor: str) -> Written:
    with transaction(pool, DOMAIN, actor, "post", command.post_id) as conn:
        if (earlier := replayed(conn, DOMAIN, "posts", "post_id", command, "post", Written)) is not None:
            return earlier
        level = stores.require_user(conn, command.author_id, "author_id")
        status = "held" if level == "restricted" else "published"
        tags, topic, at = hashtags(command.text), topic_of(command.text, command.topic), as_utc(command.created_at)
        conn.execute(
            "INSERT INTO social.posts (post_id, author_id, text, hashtags, topic, status, posted_at,"
            " command_fingerprint, created_by, updated_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (command.post_id, command.author_id, command.text, tags, topic, status, at, fingerprint(command))
            + (actor, actor),
        )
        payload = PostCreatedV1(
            post_id=command.post_id,
            author_id=command.author_id,
            text=command.text,
            hashtags=tags,
            topic=topic,
            status=status,
            created_at=at,
        )
        event = emit(conn, POST_CREATED, command.post_id, payload, at)
        enqueue(conn, DOMAIN, [item(DOMAIN, "post", command.post_id, command.author_id, command.text)])
    return written("post", command.post_id, "created", 1, [event])


def add_comment(pool: ConnectionPool, command: AddComment, actor: str) -> Written:
    with transaction(pool, DOMAIN, actor, "comment", command.comment_id) as conn:
        if (earlier := replayed(conn, DOMAIN, "comments", "comment_id", command, "comment", Written)) is not None:
            return earlier
        _, status = stores.require_post(conn, command.post_id)
        if status in CLOSED_POSTS:
            raise Conflict(f"post_id: post {command.post_id!r} is {status}; it takes no comments")
        stores.require_user(conn, command.author_id, "author_id")
        at = as_utc(command.created_at)
        conn.execute(
            "INSERT INTO social.comments (comment_id, post_id, author_id, text, commented_at, command_fingerprint,"
            " created_by, updated_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (command.comment_id, command.post_id, command.author_id, command.text, at, fingerprint(command))
            + (actor, actor),
        )
        payload = CommentAddedV1(**command.model_dump(exclude={"created_at"}), created_at=at)
        event = emit(conn, COMMENT_ADDED, command.post_id, payload, at)
        enqueue(conn, DOMAIN, [item(DOMAIN, "comment", command.comment_id, command.author_id, command.text)])
    return written("comment", command.comment_id, "created", 1, [event])


def react(pool: ConnectionPool, command: React, actor: str) -> Written:
    key = f"{command.post_id}:{command.user_id}:{command.kind}"
    with transaction(pool, DOMAIN, actor, "reaction", key) as conn:
        stores.require_post(conn, command.post_id)
        stores.require_user(conn, command.user_id)
        at = as_utc(command.reacted_at)
        inserted = conn.execute(
            "INSERT INTO social.reactions (post_id, user_id, kind, reacted_at, created_by, updated_by)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
            (command.post_id, command.user_id, command.kind, at, actor, actor),
        ).fetchone()
        if inserted is None:
            return written("reaction", key, "unchanged", 1, [])
        payload = ReactionAddedV1(**command.model_dump(exclude={"reacted_at"}), reacted_at=at)
        event = emit(conn, REACTION_ADDED, command.post_id, payload, at)
    return written("reaction", key, "created", 1, [event])


def review_post(pool: ConnectionPool, command: ReviewPost, actor: str) -> Written:
    with transaction(pool, DOMAIN, actor, "review", command.review_id) as conn:
        if (earlier := replayed(conn, DOMAIN, "reviews", "review_id", command, "review", Written)) is not None:
            return earlier
        author_id, _ = stores.require_post(conn, command.post_id, lock=True)
        at = as_utc(command.reviewed_at, datetime.now(UTC))
        conn.execute(
            "INSERT INTO social.reviews (review_id, post_id, reviewer_id, label, decision, reviewed_at,"
            " command_fingerprint, created_by, updated_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (command.review_id, command.post_id, command.reviewer_id, command.label, command.decision, at)
            + (fingerprint(command), actor, actor),
        )
        if command.decision == "remove":
            stores.set_post_status(conn, command.post_id, "removed", actor)
        payload = PostReviewedV1(
            **command.model_dump(exclude={"reviewed_at", "decision"}),
            decision=command.decision,
            author_id=author_id,
            reviewed_at=at,
        )
        event = emit(conn, POST_REVIEWED, command.post_id, payload, at)
    return written("review", command.review_id, "created", 1, [event])
