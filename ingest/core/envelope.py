"""The event envelope every domain emits: one JSON shape on every topic, versioned per event type."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class EventEnvelope:
    type: str
    version: int
    key: str
    payload: dict[str, Any]
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def to_json(self) -> bytes:
        # A shallow dict: asdict() would deep-copy the payload first, most of the cost of every event written.
        body = {name: getattr(self, name) for name in FIELD_NAMES}
        return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> EventEnvelope:
        return cls(**json.loads(raw))


FIELD_NAMES = tuple(f.name for f in fields(EventEnvelope))
