"""Opaque page cursors: where the next page of a newest-first listing starts (its bucket and the last id shown).

Clients pass the cursor back untouched; it is URL-safe base64 of a small JSON object, so a mangled one is a clear
422, not a server error, and its shape can change without breaking clients that treat it as opaque.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass

from ingest.core.errors import InvalidCommand

BUCKET = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


@dataclass(frozen=True)
class Cursor:
    """The next page holds the messages of ``bucket`` older than ``after`` (and those of older buckets)."""

    bucket: str
    after: uuid.UUID


def encode(cursor: Cursor) -> str:
    raw = json.dumps({"b": cursor.bucket, "m": str(cursor.after)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(text: str) -> Cursor:
    """The cursor in ``text``; InvalidCommand (422) when it is not one this API handed out."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        cursor = Cursor(str(raw["b"]), uuid.UUID(str(raw["m"])))
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InvalidCommand(f"cursor: {text[:40]!r} is not a cursor from a previous page") from None
    if not BUCKET.match(cursor.bucket):
        raise InvalidCommand(f"cursor: {text[:40]!r} is not a cursor from a previous page")
    return cursor
