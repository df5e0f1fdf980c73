"""Home-feed keys: day buckets, entry ids and page cursors. Pure, so paging is tested without Cassandra.

A feed entry's id is a version-1 UUID (a Cassandra ``timeuuid``) whose time is the post's creation time and whose
clock sequence and node come from a hash of the post id: the same post always gets the same entry id, so a replayed
fan-out rewrites the same cell, and ``ORDER BY entry_id DESC`` is newest first. A cursor is opaque to clients:
URL-safe base64 of ``<day>|<last entry id>``; anything else is refused with the reason.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from ingest.core.errors import InvalidCommand

# 100-ns intervals between the UUID epoch (1582-10-15) and the Unix epoch.
UUID_EPOCH_OFFSET = 0x01B21DD213814000


def day_of(moment: datetime) -> str:
    """The feed partition's day: 'YYYY-MM-DD' in UTC (a naive time is read as UTC)."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.strftime("%Y-%m-%d")


def entry_id(post_id: str, created_at: datetime) -> uuid.UUID:
    """The deterministic timeuuid of ``post_id``'s feed entries."""
    aware = created_at.replace(tzinfo=UTC) if created_at.tzinfo is None else created_at
    ticks = int(aware.timestamp() * 10_000_000) + UUID_EPOCH_OFFSET
    digest = int.from_bytes(hashlib.sha256(post_id.encode()).digest()[:8], "big")
    clock_seq, node = (digest >> 48) & 0x3FFF, digest & 0xFFFFFFFFFFFF
    fields = (ticks & 0xFFFFFFFF, (ticks >> 32) & 0xFFFF, ((ticks >> 48) & 0x0FFF) | 0x1000)
    return uuid.UUID(fields=(*fields, 0x80 | (clock_seq >> 8), clock_seq & 0xFF, node))


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: entries of ``day`` older than ``after`` (then older days)."""

    day: str
    after: uuid.UUID

    def encode(self) -> str:
        return base64.urlsafe_b64encode(f"{self.day}|{self.after}".encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            day, after = raw.split("|")
            datetime.strptime(day, "%Y-%m-%d")
            return cls(day, uuid.UUID(after))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise InvalidCommand(f"cursor: {text!r} is not a cursor this feed returned") from None
