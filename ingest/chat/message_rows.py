"""Reading one CSV row of a message history into an `ImportedMessage`, or saying exactly why it cannot be read.

Columns are mapped like e-commerce's importer: ``field=column,...`` over the defaults below; an optional field
mapped to an empty column is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from ingest.core.column_mapping import ColumnMapping as KitColumnMapping

REQUIRED_FIELDS = ("message_id", "timestamp", "room_id", "author_id", "text")
ID = re.compile(r"^[A-Za-z0-9][\w.:@-]*$")
MAX_ID = 48  # commands carry "import:<id>" within 64 characters


@dataclass(frozen=True)
class ColumnMapping(KitColumnMapping):
    """Field -> CSV column. The first five are required; ``room_kind`` (direct, group, support) is optional."""

    message_id: str = "message_id"
    timestamp: str = "timestamp"
    room_id: str = "room_id"
    author_id: str = "author_id"
    text: str = "text"
    room_kind: str = "room_kind"


class RowError(ValueError):
    """A row that cannot become a message; the message names the field and the value."""


@dataclass(frozen=True)
class ImportedMessage:
    message_id: str
    sent_at: datetime
    room_id: str
    author_id: str
    text: str
    room_kind: str = "group"


def resolve_columns(header: list[str], mapping: ColumnMapping) -> dict[str, int]:
    """Field -> position in ``header``; a required column missing from the header is an error naming it."""
    position = {name.strip(): n for n, name in enumerate(header)}
    resolved = {name: position[column] for name, column in mapping.columns().items() if column in position}
    missing = [f"{name} (column {getattr(mapping, name)!r})" for name in REQUIRED_FIELDS if name not in resolved]
    if missing:
        raise ValueError(f"missing column(s) {', '.join(missing)} in the header {header}; map them as field=column")
    return resolved


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 (no zone means UTC) or Unix epoch seconds."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return datetime.fromtimestamp(float(text), UTC)
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise RowError(f"timestamp: {text!r} is not an ISO 8601 time or epoch seconds") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_message(values: list[str], columns: dict[str, int], prefix: str = "") -> ImportedMessage:
    """The message in ``values``; raises RowError naming the first field that is missing or wrong."""
    if len(values) <= max(columns.values()):
        raise RowError(f"row has {len(values)} columns, the header {max(columns.values()) + 1}")
    raw = {name: values[n] for name, n in columns.items()}
    for name in REQUIRED_FIELDS:
        if not raw[name].strip():
            raise RowError(f"{name}: missing")
    for name in ("message_id", "room_id", "author_id"):
        value = prefix + raw[name].strip()
        if len(value) > MAX_ID or not ID.match(value):
            raise RowError(f"{name}: {raw[name]!r} is not an id (letters, digits, _.:@-, at most {MAX_ID})")
    kind = (raw.get("room_kind") or "group").strip().lower()
    if kind not in ("direct", "group", "support"):
        raise RowError(f"room_kind: {raw['room_kind']!r} is not direct, group or support")
    if len(raw["text"]) > 5000:
        raise RowError("text: longer than 5000 characters")
    return ImportedMessage(
        message_id=prefix + raw["message_id"].strip(),
        sent_at=parse_timestamp(raw["timestamp"]),
        room_id=prefix + raw["room_id"].strip(),
        author_id=prefix + raw["author_id"].strip(),
        text=raw["text"].strip(),
        room_kind=kind,
    )
