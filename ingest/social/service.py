"""One entry for every command (HTTP, generator, importer): run its use case, then, after the commit, write the
post documents from its events and moderate new content (when the context asks for it).

Both after-commit steps may fail without losing anything: the relay writes the same documents again from the
outbox, and content the service did not judge stays queued (unscored) for `lakehouse social moderate-pending`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ingest.core.moderation import item
from ingest.social import documents, use_cases
from ingest.social.commands import AddComment, ChangeFollow, Command, CreatePost, React, RegisterUser, ReviewPost
from ingest.social.context import SocialContext
from ingest.social.contract import DOMAIN
from ingest.social.events import Written
from ingest.social.moderation import moderate_now

log = logging.getLogger(__name__)
USE_CASES: dict[type[Command], Callable[..., Written]] = {
    RegisterUser: use_cases.register_user,
    ChangeFollow: use_cases.change_follow,
    CreatePost: use_cases.create_post,
    AddComment: use_cases.add_comment,
    React: use_cases.react,
    ReviewPost: use_cases.review_post,
}


def handle(command: Command, ctx: SocialContext) -> Written:
    accepted = USE_CASES[type(command)](ctx.pool, command, ctx.actor)
    if accepted.outcome == "unchanged":
        return accepted
    try:
        documents.project(ctx.posts, list(accepted.envelopes))
    except Exception:  # MongoDB down or slow: the relay writes the same documents from the outbox
        log.warning("post documents not written after commit; the relay will", exc_info=True)
    if ctx.moderation is not None and isinstance(command, CreatePost | AddComment):
        kind = "post" if isinstance(command, CreatePost) else "comment"
        content_id = command.post_id if isinstance(command, CreatePost) else command.comment_id
        moderate_now(
            ctx.settings, ctx.pool, [item(DOMAIN, kind, content_id, command.author_id, command.text)], ctx.moderation
        )
    return accepted
