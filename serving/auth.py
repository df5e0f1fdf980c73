"""API-key check for the model services: callers send ``Authorization: Bearer <key>``, each service its own key.

Default-deny: every route needs the key except the documentation, health probes and metrics, which load
balancers, Prometheus and people browsing the docs reach without one.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from lakehouse.settings import Settings, load_settings
from serving.openapi_fixes import CorrectedSpec

PUBLIC_PATHS = frozenset({"/", "/docs", "/docs.json", "/schema.json", "/metrics", "/livez", "/healthz", "/readyz"})
PUBLIC_PREFIXES = ("/static_content/",)
UNAUTHORIZED = {"error": "missing or invalid API key: send the header 'Authorization: Bearer <key>'"}


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class BearerKeyAuth:
    """ASGI middleware answering 401 before the request reaches the API (so before its body is validated).

    ``api_key_of`` picks the service's key from the settings, e.g. ``lambda settings: settings.fraud_api_key``.
    """

    def __init__(self, app: ASGIApp, api_key_of: Callable[[Settings], str]) -> None:
        self.app = app
        # Read in the worker process, from the LAKEHOUSE_* environment the server was started with.
        self.expected = f"Bearer {api_key_of(load_settings())}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["path"]) or self._authorized(scope):
            await self.app(scope, receive, send)
            return
        response = JSONResponse(UNAUTHORIZED, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        presented = dict(scope["headers"]).get(b"authorization", b"")
        return hmac.compare_digest(presented, self.expected)


def _swagger_ui(_: Request) -> RedirectResponse:
    return RedirectResponse("/")


def guard_service(
    service: Any,
    key_setting: str,
    nullable_in: tuple[type[BaseModel], ...] = (),
    responses: dict[tuple[str, int], str] | None = None,
) -> None:
    """What every model service adds around BentoML: the bearer-key check (its key is the setting ``key_setting``)
    and ``/docs``, where people look for the Swagger UI that BentoML serves at ``/``; and the served spec documents
    answers as they are (``serving.openapi_fixes``: ``nullable_in`` and ``responses`` are passed to it)."""
    service.add_asgi_middleware(BearerKeyAuth, api_key_of=attrgetter(key_setting))
    service.add_asgi_middleware(CorrectedSpec, nullable_in=nullable_in, responses=responses)
    service.mount_asgi_app(Starlette(routes=[Route("/docs", _swagger_ui)]), path="/")
