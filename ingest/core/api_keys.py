"""API keys of the domain apps: what a key looks like, how it is stored (hashed) and what it may do (scopes).

A key is ``lhk_<key id>_<secret>``: the id finds its row in ``lakehouse_kit.api_keys``, the secret (32 random bytes)
is compared with the stored SHA-256 in constant time. A key belongs to one domain and one client (a shop front, the
payments back office, a moderation desk) and carries some of the scopes the domain's contract declares, or ``*``.

On loopback, while ``LAKEHOUSE_API_DEV_KEYS`` is on (the default), ``dev-<domain>-key`` holds every scope of its
domain without being stored, so a fresh clone, its tests and its demos need no setup; an app started on another
address refuses to run while it is on (``require_no_dev_keys``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import psycopg

from lakehouse.settings import Settings, is_loopback

PREFIX = "lhk"
DEV_KEY_ID = "dev"  # the id a development key acts under (never an issued id: those are 12 hex digits)
ALL_SCOPES = "*"


class KeyRefused(ValueError):
    """A key that is malformed, unknown, revoked or of another domain (the reason is safe to tell the client)."""


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: the key's id and client, and what it may do."""

    key_id: str
    domain: str
    client: str
    scopes: frozenset[str]
    rate_per_minute: int | None  # None: not limited (the development key)

    def allows(self, scope: str) -> bool:
        return ALL_SCOPES in self.scopes or scope in self.scopes


@dataclass(frozen=True)
class IssuedKey:
    principal: Principal
    key: str  # shown once: only its hash is stored


@dataclass(frozen=True)
class KeyRow:
    principal: Principal
    created_at: datetime
    revoked_at: datetime | None


def dev_key(domain: str) -> str:
    return f"dev-{domain}-key"


def secret_sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key() -> tuple[str, str, str]:
    """A fresh ``(key, key id, secret)``."""
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    return f"{PREFIX}_{key_id}_{secret}", key_id, secret


def parse_key(key: str) -> tuple[str, str]:
    """``(key id, secret)`` of a key, or ``KeyRefused`` saying what is wrong with its shape."""
    prefix, _, rest = key.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != PREFIX or len(key_id) != 12 or not secret:
        raise KeyRefused(f"not an API key: expected {PREFIX}_<12 hex digits>_<secret> (see `lakehouse keys create`)")
    return key_id, secret


def check_scopes(requested: list[str], declared: Collection[str], domain: str) -> frozenset[str]:
    """The requested scopes, when each is one ``domain`` declares (or ``*``); else a ValueError listing them."""
    unknown = sorted(set(requested) - set(declared) - {ALL_SCOPES})
    if unknown or not requested:
        listed = ", ".join(sorted(declared)) or "none"
        problem = f"unknown scope(s) {', '.join(unknown)}" if unknown else "no scope given"
        raise ValueError(f"{problem} for {domain}; its scopes: {listed} (or {ALL_SCOPES} for all)")
    return frozenset(requested)


def require_no_dev_keys(settings: Settings, *hosts: str) -> None:
    """Refuse to serve on an address off loopback while the development keys are accepted."""
    exposed = [host for host in hosts if not is_loopback(host)]
    if settings.api_dev_keys and exposed:
        raise ValueError(
            f"{exposed[0]} is not loopback and LAKEHOUSE_API_DEV_KEYS is on (dev-<domain>-key works without being "
            "issued): set LAKEHOUSE_API_DEV_KEYS=false and give clients keys from `lakehouse keys create`"
        )


def dev_principal(domain: str) -> Principal:
    return Principal(DEV_KEY_ID, domain, "development", frozenset({ALL_SCOPES}), rate_per_minute=None)


class KeyStore:
    """The keys in PostgreSQL. One short connection per call: keys are looked up rarely (``Authenticator`` caches
    them), and an app that holds no connection between requests leaks none when it is dropped."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.postgres_url

    def issue(self, domain: str, client: str, scopes: frozenset[str], rate_per_minute: int) -> IssuedKey:
        key, key_id, secret = new_key()
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO lakehouse_kit.api_keys (key_id, domain, client, scopes, secret_sha256, rate_per_minute)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (key_id, domain, client, sorted(scopes), secret_sha256(secret), rate_per_minute),
            )
        return IssuedKey(Principal(key_id, domain, client, scopes, rate_per_minute), key)

    def revoke(self, key_id: str) -> bool:
        """Whether a key that was live is revoked now."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            revoked = conn.execute(
                "UPDATE lakehouse_kit.api_keys SET revoked_at = now() WHERE key_id = %s AND revoked_at IS NULL",
                (key_id,),
            )
            return revoked.rowcount == 1

    def rows(self, domain: str | None = None) -> list[KeyRow]:
        with psycopg.connect(self.url) as conn:
            found = conn.execute(
                "SELECT key_id, domain, client, scopes, rate_per_minute, created_at, revoked_at"
                " FROM lakehouse_kit.api_keys WHERE %(domain)s::text IS NULL OR domain = %(domain)s"
                " ORDER BY domain, client, created_at",
                {"domain": domain},
            ).fetchall()
        return [
            KeyRow(Principal(key_id, dom, client, frozenset(scopes), rate), created, revoked)
            for key_id, dom, client, scopes, rate, created, revoked in found
        ]

    def verify(self, domain: str, key: str) -> Principal:
        """The key's principal, or ``KeyRefused``: a malformed, unknown or revoked key, or one of another domain."""
        key_id, secret = parse_key(key)
        with psycopg.connect(self.url) as conn:
            row = conn.execute(
                "SELECT domain, client, scopes, secret_sha256, rate_per_minute, revoked_at"
                " FROM lakehouse_kit.api_keys WHERE key_id = %s",
                (key_id,),
            ).fetchone()
        # One message for an unknown id and a wrong secret: the answer must not tell which ids exist.
        if row is None or not hmac.compare_digest(row[3], secret_sha256(secret)):
            raise KeyRefused(f"unknown API key {key_id}")
        stored_domain, client, scopes, _, rate, revoked_at = row
        if revoked_at is not None:
            raise KeyRefused(f"API key {key_id} was revoked at {revoked_at:%Y-%m-%d %H:%M:%S %Z}")
        if stored_domain != domain:
            raise KeyRefused(f"API key {key_id} is for the {stored_domain} app, not {domain}")
        return Principal(key_id, domain, client, frozenset(scopes), rate)
