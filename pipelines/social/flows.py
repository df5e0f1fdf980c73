"""Social silver, declared with the kit: which silver tables each bronze topic feeds (insert-once event rows, or
newest-wins current state where ``newer_by`` is set). Flag events are not tabled: the moderation rows carry the
same flag, and the trust changes they cause are tabled from the users topic."""

from __future__ import annotations

from ingest.social.contract import (
    COMMENT_ADDED,
    COMMENT_MODERATED,
    CONTRACT,
    FOLLOW_CHANGED,
    POST_CREATED,
    POST_MODERATED,
    POST_REVIEWED,
    REACTION_ADDED,
    TRUST_CHANGED,
    USER_REGISTERED,
)
from pipelines.core.flow import SilverFlow, SilverTarget, silver_flows
from pipelines.social import silver

FLOWS: dict[str, SilverFlow] = silver_flows(
    SilverFlow(
        CONTRACT,
        "users",
        (
            SilverTarget("users", USER_REGISTERED, silver.users, ("user_id",), "occurred_at"),
            SilverTarget("trust_changes", TRUST_CHANGED, silver.trust_changes, ("event_id",)),
        ),
    ),
    SilverFlow(
        CONTRACT,
        "follows",
        (SilverTarget("follows", FOLLOW_CHANGED, silver.follows, ("follower_id", "followee_id"), "occurred_at"),),
    ),
    SilverFlow(
        CONTRACT,
        "posts",
        (
            SilverTarget("posts", POST_CREATED, silver.posts, ("post_id",)),
            SilverTarget("post_moderations", POST_MODERATED, silver.moderations, ("content_id",), "occurred_at"),
            SilverTarget("post_reviews", POST_REVIEWED, silver.reviews, ("review_id",)),
        ),
    ),
    SilverFlow(
        CONTRACT,
        "comments",
        (
            SilverTarget("comments", COMMENT_ADDED, silver.comments, ("comment_id",)),
            SilverTarget("comment_moderations", COMMENT_MODERATED, silver.moderations, ("content_id",), "occurred_at"),
        ),
    ),
    SilverFlow(
        CONTRACT,
        "reactions",
        (SilverTarget("reactions", REACTION_ADDED, silver.reactions, ("post_id", "user_id", "kind")),),
    ),
)
