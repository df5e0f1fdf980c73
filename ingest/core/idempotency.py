"""Recognising a retried command: every command carries its own id, and a fingerprint of its content.

The fingerprint is a hash of the command's canonical JSON (keys sorted, decimals normalised so "10.0" and
"10.00" are the same price, times in UTC). The same id with the same fingerprint is a replay and changes nothing;
the same id with another fingerprint is a conflict, because silently applying or ignoring it would both be wrong.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from ingest.core.errors import IdempotencyConflict


def as_utc(moment: datetime | None, default: datetime | None = None) -> datetime:
    """An aware UTC time; a naive one is read as UTC, None becomes ``default`` (or now)."""
    if moment is None:
        return default or datetime.now(UTC)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        # normalize() drops trailing zeros; the fixed-point format avoids "1E+1" for ten.
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def fingerprint(command: BaseModel) -> str:
    """The command's content hash, prefixed by its kind so two kinds sharing an id never compare equal."""
    body = json.dumps(_canonical(command.model_dump()), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{type(command).__name__}:{body}".encode()).hexdigest()


def is_replay(stored_fingerprint: str, command: BaseModel, what: str) -> bool:
    """True when ``command`` repeats the one that wrote ``what``; raises when it reuses the id for other content."""
    if stored_fingerprint == fingerprint(command):
        return True
    raise IdempotencyConflict(
        f"{what} was already created by a different {type(command).__name__} command; "
        f"reusing its id with other content is refused (send a new id)"
    )
