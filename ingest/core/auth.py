"""Every domain app's authentication, scopes and rate limits, in one place: a route declares the scope it needs
(``dependencies=[needs("orders:write")]``); a request without a key answers 401, a key without the scope 403, a key
past its rate 429 with ``Retry-After``. The OpenAPI shows the bearer scheme on every route that needs a key.

Verified keys (and refused ones) are remembered for ``api_key_cache_s`` per process, so a request costs one Redis
round trip (its rate) and no PostgreSQL query; revoking a key takes that long to reach every app process.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import redis
from fastapi import Depends, FastAPI, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from ingest.core.api_keys import DEV_KEY_ID, KeyRefused, KeyStore, Principal, dev_key, dev_principal
from lakehouse.settings import Settings

log = logging.getLogger(__name__)

WINDOW_S = 60
CACHE_LIMIT = 10_000

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="`Authorization: Bearer <key>`: a key from `lakehouse keys create`, or `dev-<domain>-key` on "
    "loopback while LAKEHOUSE_API_DEV_KEYS is on.",
)


class RateLimiter:
    """Requests per key per minute, counted in Redis so every process of an app shares one count (a fixed window:
    a client may send up to twice its rate across a minute's edge, which is what a fixed window costs)."""

    def __init__(self, redis_url: str) -> None:
        self.redis = redis.Redis.from_url(redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._warned = False

    def retry_after(self, principal: Principal, now: float | None = None) -> int | None:
        """None when the request may go; else the whole seconds until the key's window opens again."""
        if principal.rate_per_minute is None:
            return None
        now = time.time() if now is None else now
        window = int(now // WINDOW_S)
        counter = f"lakehouse:rate:{principal.domain}:{principal.key_id}:{window}"
        try:
            pipe = self.redis.pipeline()
            pipe.incr(counter)
            pipe.expire(counter, 2 * WINDOW_S)
            count, _ = pipe.execute()
        except redis.RedisError as error:
            # Limits protect the app; an unreachable Redis must not take the app down with it. Said once per process.
            if not self._warned:
                log.warning("rate limits not enforced: Redis did not answer (%s)", error)
                self._warned = True
            return None
        if int(count) <= principal.rate_per_minute:
            return None
        return max(1, math.ceil((window + 1) * WINDOW_S - now))


class Authenticator:
    """Keys of one domain's app: the development key (when on), else the store, behind a short cache."""

    def __init__(self, settings: Settings, domain: str) -> None:
        self.domain, self.settings = domain, settings
        self.store = KeyStore(settings)
        self.limiter = RateLimiter(settings.redis_url)
        self._cache: dict[str, tuple[float, Principal | KeyRefused]] = {}
        self._lock = threading.Lock()

    def principal(self, key: str) -> Principal:
        if self.settings.api_dev_keys and key == dev_key(self.domain):
            return dev_principal(self.domain)
        digest = hashlib.sha256(key.encode()).hexdigest()  # the cache holds no secret
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is None or now - hit[0] > self.settings.api_key_cache_s:
            try:
                found: Principal | KeyRefused = self.store.verify(self.domain, key)
            except KeyRefused as refused:
                found = refused
            with self._lock:
                if len(self._cache) >= CACHE_LIMIT:
                    self._cache.clear()
                self._cache[digest] = (now, found)
            hit = (now, found)
        if isinstance(hit[1], KeyRefused):
            raise hit[1]
        return hit[1]


def install_auth(app: FastAPI, settings: Settings, domain: str) -> None:
    """Check keys for ``domain`` on every route that declares a scope (see ``scope_dependency``)."""
    app.state.auth = Authenticator(settings, domain)


def _authorise(
    security_scopes: SecurityScopes,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    auth: Authenticator = request.app.state.auth
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise HTTPException(401, "this endpoint needs an API key: send `Authorization: Bearer <key>`", challenge)
    try:
        principal = auth.principal(credentials.credentials)
    except KeyRefused as refused:
        raise HTTPException(401, str(refused), challenge) from None
    missing = [scope for scope in security_scopes.scopes if not principal.allows(scope)]
    if missing:
        held = ", ".join(sorted(principal.scopes))
        raise HTTPException(
            403, f"API key {principal.key_id} ({principal.client}) lacks scope {missing[0]}; it holds: {held}"
        )
    wait = auth.limiter.retry_after(principal)
    if wait is not None:
        detail = (
            f"API key {principal.key_id} sent more than {principal.rate_per_minute} requests this minute; "
            f"retry in {wait} s"
        )
        raise HTTPException(429, detail, {"Retry-After": str(wait)})
    request.state.principal = principal
    return principal


def audit_actor(request: Request, named: str | None, default: str = "api", prefix: str = "api:") -> str:
    """Who the audit log names for a request: ``api:<client>/<named>`` for an issued key (its client, then the
    ``X-Actor`` the caller named), ``api:<named>`` or ``default`` for the development key, which names no client."""
    principal: Principal | None = getattr(request.state, "principal", None)
    client = principal.client if principal is not None and principal.key_id != DEV_KEY_ID else None
    parts = [part for part in (client, named) if part]
    return prefix + "/".join(parts) if parts else default


def scope_dependency(declared: Mapping[str, str]) -> Callable[[str], Any]:
    """``needs(scope)`` for one domain's routes: refuses, when the app is built, a scope its contract lacks."""

    def needs(scope: str) -> Any:
        if scope not in declared:
            raise ValueError(f"scope {scope!r} is not declared in the contract; declared: {', '.join(declared)}")
        return Security(_authorise, scopes=[scope])

    return needs
