"""The social HTTP app: each write builds a command and passes it to `service.handle` (the path the generator and
importer take too). Reads come from where each view lives: a post with its thread from its MongoDB document, its
reaction counts and a home feed from Cassandra (filled by the relay, so entries appear once it has run).

A restricted user's post is accepted (201) but *held*: not fanned out to followers until moderation releases it.
New posts and comments are moderated after commit when the app was created with ``moderation``; with the sentiment
service down they stay accepted and unscored until `lakehouse social moderate-pending`.

Every route but /health needs an API key with the route's scope (`Authorization: Bearer <key>`): 401 without a
valid key, 403 without the scope, 429 past the key's rate.
Status codes: 201 created, 200 updated or replayed, 404 unknown user or post, 409 id reused with other content or a
closed post, 422 invalid body or cursor (the message says which field and why).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Annotated, Any

from fastapi import FastAPI, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from ingest.core.auth import audit_actor, install_auth, scope_dependency
from ingest.core.errors import NotFound
from ingest.core.http import install_error_handlers, install_input_limits
from ingest.core.openapi_links import CREATED_ID, read_link, with_links
from ingest.social import documents
from ingest.social.api_models import (
    AcceptedOut,
    CommentBody,
    FeedPageOut,
    FollowBody,
    PostOut,
    ReactionBody,
    ReviewBody,
)
from ingest.social.commands import AddComment, ChangeFollow, Command, CreatePost, React, RegisterUser, ReviewPost
from ingest.social.context import SocialContext, open_context
from ingest.social.contract import CONTRACT
from ingest.social.feed_keys import Cursor
from ingest.social.service import handle
from lakehouse.settings import Settings

Id = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Actor = Annotated[str | None, Header(alias="X-Actor", max_length=64, description="who acts (audit log)")]
RESPONSES: dict[int | str, dict[str, Any]] = {201: {"model": AcceptedOut}, 200: {"model": AcceptedOut}}
USER_CREATED = with_links(
    RESPONSES, Feed=read_link("GET /users/{user_id}/feed", {"user_id": CREATED_ID}, "the new user's home feed")
)
POST_CREATED = with_links(
    RESPONSES, Post=read_link("GET /posts/{post_id}", {"post_id": CREATED_ID}, "the new post and its thread")
)
COMMENT_ADDED = with_links(
    RESPONSES,
    Post=read_link(
        "GET /posts/{post_id}", {"post_id": "$request.path.post_id"}, "the post, its thread with the comment"
    ),
)
needs = scope_dependency(CONTRACT.scopes)


def run(request: Request, command: Command, actor: str | None) -> JSONResponse:
    ctx: SocialContext = request.app.state.ctx
    accepted = handle(command, replace(ctx, actor=audit_actor(request, actor)))
    body = AcceptedOut(
        resource=accepted.resource,
        id=accepted.id,
        outcome=accepted.outcome,
        version=accepted.version,
        event_ids=list(accepted.event_ids),
    )
    return JSONResponse(body.model_dump(), status_code=201 if accepted.outcome == "created" else 200)


def create_app(settings: Settings, moderation: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with open_context(settings, actor="api", moderation=moderation) as ctx:
            app.state.ctx = ctx
            yield

    app = FastAPI(title="lakehouse social", description=__doc__, lifespan=lifespan)
    install_error_handlers(app)
    install_input_limits(app, settings.http_max_body_bytes)
    install_auth(app, settings, CONTRACT.name)
    add_write_routes(app)
    add_read_routes(app)
    return app


def add_write_routes(app: FastAPI) -> None:
    @app.post("/users", status_code=201, responses=USER_CREATED, dependencies=[needs("users:write")])
    def register_user(request: Request, body: RegisterUser, x_actor: Actor = None) -> JSONResponse:
        return run(request, body, x_actor)

    @app.put(
        "/users/{followee_id}/followers",
        responses=RESPONSES,
        summary="follow a user",
        dependencies=[needs("follows:write")],
    )
    def follow(request: Request, followee_id: Id, body: FollowBody, x_actor: Actor = None) -> JSONResponse:
        return run(request, ChangeFollow(followee_id=followee_id, following=True, **body.model_dump()), x_actor)

    @app.delete(
        "/users/{followee_id}/followers/{follower_id}",
        responses=RESPONSES,
        summary="unfollow a user",
        dependencies=[needs("follows:write")],
    )
    def unfollow(request: Request, followee_id: Id, follower_id: Id, x_actor: Actor = None) -> JSONResponse:
        command = ChangeFollow(follower_id=follower_id, followee_id=followee_id, following=False)
        return run(request, command, x_actor)

    @app.post("/posts", status_code=201, responses=POST_CREATED, dependencies=[needs("posts:write")])
    def create_post(request: Request, body: CreatePost, x_actor: Actor = None) -> JSONResponse:
        return run(request, body, x_actor)

    @app.post(
        "/posts/{post_id}/comments", status_code=201, responses=COMMENT_ADDED, dependencies=[needs("posts:write")]
    )
    def add_comment(request: Request, post_id: Id, body: CommentBody, x_actor: Actor = None) -> JSONResponse:
        return run(request, AddComment(post_id=post_id, **body.model_dump()), x_actor)

    @app.post("/posts/{post_id}/reactions", status_code=201, responses=RESPONSES, dependencies=[needs("posts:write")])
    def react(request: Request, post_id: Id, body: ReactionBody, x_actor: Actor = None) -> JSONResponse:
        return run(request, React(post_id=post_id, **body.model_dump()), x_actor)

    @app.post(
        "/posts/{post_id}/reviews", status_code=201, responses=RESPONSES, dependencies=[needs("moderation:write")]
    )
    def review(request: Request, post_id: Id, body: ReviewBody, x_actor: Actor = None) -> JSONResponse:
        return run(request, ReviewPost(post_id=post_id, **body.model_dump()), x_actor)


def add_read_routes(app: FastAPI) -> None:
    @app.get("/posts/{post_id}", response_model=PostOut, dependencies=[needs("read")])
    def get_post(request: Request, post_id: Id) -> dict[str, Any]:
        ctx: SocialContext = request.app.state.ctx
        post = documents.post_with_thread(ctx.posts, post_id)
        if post is None:
            raise NotFound(f"post_id: post {post_id!r} does not exist")
        assert ctx.views is not None
        return post | {"reactions": ctx.views.reaction_counts(post_id)}

    @app.get("/users/{user_id}/feed", response_model=FeedPageOut, dependencies=[needs("read")])
    def home_feed(
        request: Request,
        user_id: Id,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")] = None,
    ) -> dict[str, Any]:
        ctx: SocialContext = request.app.state.ctx
        with ctx.pool.connection() as conn:
            if conn.execute("SELECT 1 FROM social.users WHERE user_id = %s", (user_id,)).fetchone() is None:
                raise NotFound(f"user_id: user {user_id!r} is not registered")
        assert ctx.views is not None
        entries, next_cursor = ctx.views.page(user_id, limit, Cursor.decode(cursor) if cursor else None)
        return {"entries": [_hydrate(ctx, entry) for entry in entries], "next_cursor": next_cursor}

    @app.get("/health")
    def health(request: Request) -> JSONResponse:
        ctx: SocialContext = request.app.state.ctx
        try:
            with ctx.pool.connection(timeout=5) as conn:
                conn.execute("SELECT 1")
            ctx.posts.database.command("ping")
        except Exception as error:  # any store failure means "not ready"; say which one
            return JSONResponse({"status": "unavailable", "detail": f"{type(error).__name__}: {error}"}, 503)
        return JSONResponse({"status": "ok"})


def _hydrate(ctx: SocialContext, entry: dict[str, Any]) -> dict[str, Any]:
    # One `_id` read per entry (FerretDB serves those from its key); a page is at most 100 entries.
    post = documents.post_with_thread(ctx.posts, entry["post_id"]) or {}
    fields = ("text", "hashtags", "status", "created_at")
    return {"post_id": entry["post_id"], "author_id": entry["author_id"], **{k: post.get(k) for k in fields}}
