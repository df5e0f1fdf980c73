"""Chat silver, declared with the kit: which silver tables each bronze topic feeds, and how (insert-once event
rows or newest-wins current state). A message's later life (edits, deletion, moderation, reviews) lands in its
own tables keyed by message, so gold can combine them whatever order the events arrive in."""

from __future__ import annotations

from ingest.chat import contract as ev
from ingest.chat.contract import CONTRACT
from pipelines.chat import silver
from pipelines.core.flow import SilverFlow, SilverTarget, silver_flows

FLOWS: dict[str, SilverFlow] = silver_flows(
    SilverFlow(
        CONTRACT,
        "users",
        (
            SilverTarget("users", ev.USER_REGISTERED, silver.users, ("user_id",), "occurred_at"),
            SilverTarget("profiles", ev.PROFILE_UPDATED, silver.profiles, ("user_id",), "profile_version"),
        ),
    ),
    SilverFlow(CONTRACT, "rooms", (SilverTarget("rooms", ev.ROOM_CREATED, silver.rooms, ("room_id",), "occurred_at"),)),
    SilverFlow(
        CONTRACT,
        "memberships",
        (SilverTarget("memberships", ev.MEMBERSHIP_CHANGED, silver.memberships, ("room_id", "user_id"), "changed_at"),),
    ),
    SilverFlow(
        CONTRACT,
        "messages",
        (
            SilverTarget("messages", ev.MESSAGE_SENT, silver.messages, ("message_id",)),
            SilverTarget("message_edits", ev.MESSAGE_EDITED, silver.message_edits, ("event_id",)),
            SilverTarget("message_deletions", ev.MESSAGE_DELETED, silver.message_deletions, ("message_id",)),
            SilverTarget(
                "message_moderations", ev.MESSAGE_MODERATED, silver.message_moderations, ("message_id",), "moderated_at"
            ),
            SilverTarget("message_reviews", ev.MESSAGE_REVIEWED, silver.message_reviews, ("event_id",)),
        ),
    ),
)
