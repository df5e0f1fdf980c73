"""The chat HTTP app: users and profiles, rooms and memberships, messages and a room's history.

Every write builds a command and passes it to `service.handle`, the path the generator, importer and notification
consumers take too. The acting user is the ``X-User-Id`` header. A new message is stored first and moderated
after its commit; the response says how (``scored``, ``flagged``, or ``unscored`` when the sentiment service did
not answer in time: the message is accepted either way).

Every route but /health needs an API key with the route's scope (`Authorization: Bearer <key>`): 401 without a
valid key, 403 without the scope, 429 past the key's rate.
Status codes: 201 created, 200 updated or replayed (an identical retry: ``outcome`` ``unchanged``), 403 not a
member / not allowed (the message says which), 404 unknown room, user or message, 409 conflict (a command id
reused with other content, a deleted message), 422 invalid body, header or cursor (the message names the field).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, replace
from typing import Annotated

from fastapi import FastAPI, Header, Path, Query, Request
from fastapi.responses import JSONResponse

from ingest.chat import reads
from ingest.chat.api_models import AcceptedOut, MemberBody, MessageBody, PageOut, ProfileBody, ReviewBody, RoomBody
from ingest.chat.commands import (
    Command,
    CreateRoom,
    DeleteMessage,
    EditMessage,
    JoinRoom,
    LeaveRoom,
    RegisterUser,
    ReviewMessage,
    SendMessage,
    UpdateProfile,
)
from ingest.chat.context import ChatContext, open_context
from ingest.chat.contract import CONTRACT
from ingest.chat.service import handle
from ingest.core.auth import audit_actor, install_auth, scope_dependency
from ingest.core.errors import Forbidden, NotFound
from ingest.core.http import install_error_handlers, install_input_limits
from ingest.core.openapi_links import CREATED_ID, read_link, with_links
from lakehouse.settings import Settings

IdPath = Annotated[str, Path(min_length=1, max_length=64)]
MessageId = Annotated[str, Path(min_length=36, max_length=36)]
UserHeader = Annotated[str, Header(alias="X-User-Id", min_length=1, max_length=64, description="the acting user")]
CommandId = Annotated[str, Query(min_length=1, max_length=64, description="the client's id for this command")]
Limit = Annotated[int, Query(ge=1, le=200)]
RESPONSES = {201: {"model": AcceptedOut}, 200: {"model": AcceptedOut}}
# A room's history is read as a member: the user who created the room or sent the message.
ROOM_HISTORY = {"room_id": "$request.path.room_id", "header.X-User-Id": "$request.header.X-User-Id"}
USER_CREATED = with_links(
    RESPONSES,
    Profile=read_link("GET /users/{user_id}/profile", {"user_id": CREATED_ID}, "the new user's profile"),
)
ROOM_CREATED = with_links(
    RESPONSES,
    History=read_link(
        "GET /rooms/{room_id}/messages", ROOM_HISTORY | {"room_id": CREATED_ID}, "the new room's history, as its owner"
    ),
)
MESSAGE_SENT = with_links(
    RESPONSES,
    History=read_link("GET /rooms/{room_id}/messages", ROOM_HISTORY, "the history of the room, as the author"),
)
needs = scope_dependency(CONTRACT.scopes)


def run(request: Request, command: Command) -> JSONResponse:
    ctx: ChatContext = request.app.state.ctx
    accepted = handle(command, replace(ctx, actor=audit_actor(request, None)))
    body = AcceptedOut(**asdict(accepted) | {"event_ids": list(accepted.event_ids)}).model_dump(mode="json")
    return JSONResponse(body, status_code=201 if accepted.outcome == "created" else 200)


def create_app(settings: Settings, moderation: bool = True) -> FastAPI:
    """The app; with ``moderation`` each new or edited message is sent to the sentiment service after commit."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with open_context(settings, actor="api", moderation=moderation) as ctx:
            app.state.ctx = ctx
            yield

    app = FastAPI(title="lakehouse chat", description=__doc__, lifespan=lifespan)
    install_error_handlers(app)
    install_input_limits(app, settings.http_max_body_bytes)
    install_auth(app, settings, CONTRACT.name)
    add_people_routes(app)
    add_message_routes(app)
    add_read_routes(app)
    return app


def add_people_routes(app: FastAPI) -> None:
    @app.post("/users", status_code=201, responses=USER_CREATED, dependencies=[needs("users:write")])
    def register_user(request: Request, body: RegisterUser) -> JSONResponse:
        return run(request, body)

    @app.put("/users/{user_id}/profile", responses=RESPONSES, dependencies=[needs("users:write")])
    def update_profile(request: Request, user_id: IdPath, body: ProfileBody, x_user_id: UserHeader) -> JSONResponse:
        if x_user_id != user_id:
            raise Forbidden(f"only {user_id!r} may change their profile")
        return run(request, UpdateProfile(user_id=user_id, **body.model_dump()))

    @app.post("/rooms", status_code=201, responses=ROOM_CREATED, dependencies=[needs("rooms:write")])
    def create_room(request: Request, body: RoomBody, x_user_id: UserHeader) -> JSONResponse:
        return run(request, CreateRoom(owner_id=x_user_id, **body.model_dump()))

    @app.put("/rooms/{room_id}/members/{user_id}", responses=RESPONSES, dependencies=[needs("rooms:write")])
    def join(request: Request, room_id: IdPath, user_id: IdPath, body: MemberBody, x_user_id: UserHeader):
        return run(request, JoinRoom(room_id=room_id, user_id=user_id, actor_id=x_user_id, **body.model_dump()))

    @app.delete("/rooms/{room_id}/members/{user_id}", responses=RESPONSES, dependencies=[needs("rooms:write")])
    def leave(request: Request, room_id: IdPath, user_id: IdPath, command_id: CommandId, x_user_id: UserHeader):
        return run(request, LeaveRoom(command_id=command_id, room_id=room_id, user_id=user_id, actor_id=x_user_id))


def add_message_routes(app: FastAPI) -> None:
    @app.post(
        "/rooms/{room_id}/messages", status_code=201, responses=MESSAGE_SENT, dependencies=[needs("messages:write")]
    )
    def send(request: Request, room_id: IdPath, body: MessageBody, x_user_id: UserHeader) -> JSONResponse:
        return run(request, SendMessage(room_id=room_id, author_id=x_user_id, **body.model_dump()))

    @app.patch("/rooms/{room_id}/messages/{message_id}", responses=RESPONSES, dependencies=[needs("messages:write")])
    def edit(request: Request, room_id: IdPath, message_id: MessageId, body: MessageBody, x_user_id: UserHeader):
        command = EditMessage(room_id=room_id, message_id=message_id, author_id=x_user_id, **body.model_dump())
        return run(request, command)

    @app.delete("/rooms/{room_id}/messages/{message_id}", responses=RESPONSES, dependencies=[needs("messages:write")])
    def delete(request: Request, room_id: IdPath, message_id: MessageId, command_id: CommandId, x_user_id: UserHeader):
        command = DeleteMessage(command_id=command_id, room_id=room_id, message_id=message_id, actor_id=x_user_id)
        return run(request, command)

    @app.post(
        "/rooms/{room_id}/messages/{message_id}/reviews", responses=RESPONSES, dependencies=[needs("moderation:write")]
    )
    def review(request: Request, room_id: IdPath, message_id: MessageId, body: ReviewBody, x_user_id: UserHeader):
        command = ReviewMessage(room_id=room_id, message_id=message_id, reviewer_id=x_user_id, **body.model_dump())
        return run(request, command)


def add_read_routes(app: FastAPI) -> None:
    @app.get("/rooms/{room_id}/messages", response_model=PageOut, dependencies=[needs("read")])
    def history(
        request: Request, room_id: IdPath, x_user_id: UserHeader, limit: Limit = 50, cursor: str | None = None
    ) -> dict:
        ctx: ChatContext = request.app.state.ctx
        page = reads.room_history(ctx.pool, ctx.views, room_id, x_user_id, limit, cursor)
        return {"messages": page.messages, "next_cursor": page.next_cursor}

    @app.get("/users/{user_id}/mentions", response_model=PageOut, dependencies=[needs("read")])
    def mentions(
        request: Request,
        user_id: IdPath,
        x_user_id: UserHeader,
        month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
        limit: Limit = 50,
        cursor: str | None = None,
    ) -> dict:
        ctx: ChatContext = request.app.state.ctx
        page = reads.mentions(ctx.pool, ctx.views, user_id, x_user_id, month, limit, cursor)
        return {"messages": page.messages, "next_cursor": page.next_cursor}

    @app.get("/users/{user_id}/profile", dependencies=[needs("read")])
    def profile(request: Request, user_id: IdPath) -> dict:
        found = request.app.state.ctx.profiles.find(user_id)
        if found is None:
            raise NotFound(f"user_id: user {user_id!r} has no profile")
        return found

    @app.get("/health")
    def health(request: Request) -> JSONResponse:
        ctx: ChatContext = request.app.state.ctx
        try:
            with ctx.pool.connection(timeout=5) as conn:
                conn.execute("SELECT 1")
            ctx.views.session.execute("SELECT now() FROM system.local")
            ctx.profiles.collection.database.command("ping")
        except Exception as error:  # any store failure means "not ready"; say which one
            return JSONResponse({"status": "unavailable", "detail": f"{type(error).__name__}: {error}"}, 503)
        return JSONResponse({"status": "ok"})


__all__ = ["create_app"]
