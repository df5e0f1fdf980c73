"""How every domain app answers a refused command (one status code per kind of error, the reason in ``detail``), and
the input limits every app applies before a handler runs."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingest.core.errors import Conflict, DomainError, Forbidden, InvalidCommand, NotFound

STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409, InvalidCommand: 422}


class Refusal(BaseModel):
    """Why a request was refused: a sentence, or (for a body that breaks the schema) one entry per problem."""

    detail: str | list[dict[str, Any]]


# Documented on every route of every app, so the OpenAPI says what a client may get back (and a fuzzer holds the
# app to it): the kit's refusals, the input limits, and a 422 that is either FastAPI's list or a domain's sentence.
REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"model": Refusal, "description": "The command was refused (the detail says why)."},
    401: {"model": Refusal, "description": "No API key, or one that is unknown, revoked or of another app."},
    403: {"model": Refusal, "description": "The actor, or the API key's scopes, may not do this."},
    404: {"model": Refusal, "description": "Something the request names does not exist."},
    409: {"model": Refusal, "description": "It conflicts with what exists (an id reused with other content)."},
    413: {"model": Refusal, "description": "The body is over LAKEHOUSE_HTTP_MAX_BODY_BYTES."},
    422: {"model": Refusal, "description": "The request is invalid: which field, and why."},
    429: {"model": Refusal, "description": "The key sent more than its rate this minute (see Retry-After)."},
}


def error_status(error: DomainError) -> int:
    return next((code for kind, code in STATUS.items() if isinstance(error, kind)), 400)


def install_error_handlers(app: FastAPI) -> None:
    """Map refusals to their status codes, and document them on every route added after this call."""
    app.router.responses = {**REFUSALS, **app.router.responses}

    @app.exception_handler(DomainError)
    async def refused(_: Request, error: DomainError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=error_status(error))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code != 405:
            return await http_exception_handler(request, error)
        # Starlette names the methods of the first route matching the path only; a path served by several routes
        # (GET and PUT of one resource) allows all of theirs.
        allowed = sorted(
            {
                method
                for route in request.app.router.routes
                if isinstance(route, APIRoute) and route.path_regex.match(request.url.path)
                for method in route.methods
            }
        )
        detail = f"{request.method} is not allowed on {request.url.path}; allowed: {', '.join(allowed)}"
        return JSONResponse({"detail": detail}, status_code=405, headers={"Allow": ", ".join(allowed)})

    @app.exception_handler(ValidationError)
    async def invalid(_: Request, error: ValidationError) -> JSONResponse:
        detail = [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in error.errors()]
        return JSONResponse({"detail": detail}, status_code=422)


class InputLimits:
    """ASGI middleware every domain app installs: refuse what no handler should have to read.

    - A body over ``max_body_bytes`` is refused with 413 before it is read (by its ``Content-Length``) or as soon
      as the bytes received pass the limit (a chunked body), never parsed.
    - A NUL character (``\\u0000``) or a lone surrogate in any JSON string, and a NUL in the path or query, are
      refused with 422 naming where: PostgreSQL cannot store either, and would otherwise answer 500.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope["query_string"] or b"\x00" in scope["query_string"]:
            await _refuse(send, 422, "the path or query holds a NUL character (\\u0000), which no field can store")
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _refuse(send, 413, self._too_large())
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await _refuse(send, 413, self._too_large())
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        problems = unstorable_text(body)
        if problems:
            await _refuse(send, 422, problems)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"the request body is larger than {self.max_body_bytes} bytes (LAKEHOUSE_HTTP_MAX_BODY_BYTES)"


async def _refuse(send: Send, status: int, detail: str | list[dict[str, object]]) -> None:
    await JSONResponse({"detail": detail}, status_code=status)({"type": "http"}, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def unstorable_text(body: bytes) -> list[dict[str, object]]:
    """Where a JSON body holds a string PostgreSQL cannot store (a NUL, or a lone surrogate that is not Unicode),
    in FastAPI's 422 shape. Both can only arrive as ``\\u`` escapes, so a body without one is not parsed here."""
    if b"\\u" not in body:
        return []
    try:
        document = json.loads(body)
    except ValueError:
        return []  # not JSON: the route's own validation answers
    problems: list[dict[str, object]] = []

    def visit(value: object, location: list[object]) -> None:
        if isinstance(value, str):
            if "\x00" in value:
                problems.append(_problem(location, "must not contain a NUL character (\\u0000)"))
            elif not _is_unicode(value):
                problems.append(_problem(location, "is not valid Unicode (a lone surrogate escape)"))
        elif isinstance(value, dict):
            for key, item in value.items():
                visit(key, [*location, key])  # a field name is text too
                visit(item, [*location, key])
        elif isinstance(value, list):
            for index, item in enumerate(value):
                visit(item, [*location, index])

    visit(document, ["body"])
    return problems


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _problem(location: list[object], message: str) -> dict[str, object]:
    return {"loc": location, "msg": f"text {message}", "type": "value_error"}


def install_input_limits(app: FastAPI, max_body_bytes: int) -> None:
    app.add_middleware(InputLimits, max_body_bytes=max_body_bytes)
