"""`lakehouse import chat messages.csv`: replay a real message history as the commands a live chat would have
received, in time order, through the app's own use cases.

Columns (``ColumnMapping`` in `message_rows.py`; override with ``field=column,...``): ``message_id`` (becomes the
command id, so a re-import replays and duplicates nothing), ``timestamp`` (ISO 8601 or epoch seconds), ``room_id``,
``author_id``, ``text``, optional ``room_kind``. A user is registered and a room created (by its first author, at
its first message) the first time they appear; later authors join the room. Bad rows are reported with their line
number and reason, counted and written to ``<input>.rejects.csv`` (always written, so it never shows an earlier
run's rows); good rows keep flowing.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from ingest.chat.commands import Command, CreateRoom, JoinRoom, RegisterUser, SendMessage
from ingest.chat.message_rows import ColumnMapping, ImportedMessage, RowError, parse_message, resolve_columns
from ingest.chat.unit_of_work import Accepted
from ingest.core.errors import DomainError, IdempotencyConflict
from ingest.core.progress import Progress

__all__ = ["ColumnMapping", "ImportSummary", "import_csv"]

Sink = Callable[[Command], Accepted]


@dataclass(frozen=True)
class Reject:
    line: int
    reason: str


@dataclass
class ImportSummary:
    rows: int = 0
    messages: int = 0
    rejects: list[Reject] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    rejects_path: Path = Path("rejects.csv")

    def describe(self) -> str:
        shown = "; ".join(f"line {r.line}: {r.reason}" for r in self.rejects[:5])
        return (
            f"chat import: {self.rows} rows, {self.messages} messages ({dict(self.outcomes)}), "
            f"{len(self.rejects)} rejected{': ' + shown if shown else ''}"
            + (f" (all in {self.rejects_path})" if self.rejects else "")
        )


def read_rows(
    path: Path, mapping: ColumnMapping, prefix: str, summary: ImportSummary
) -> list[tuple[int, ImportedMessage]]:
    """The good rows with their line numbers, in time order; bad ones go to ``summary.rejects``."""
    good = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        columns = resolve_columns(next(reader, []), mapping)
        for values in reader:
            summary.rows += 1
            try:
                good.append((reader.line_num, parse_message(values, columns, prefix)))
            except RowError as error:
                summary.rejects.append(Reject(reader.line_num, str(error)))
    return sorted(good, key=lambda row: (row[1].sent_at, row[0]))


def import_csv(
    path: Path, sink: Sink, mapping: ColumnMapping | None = None, prefix: str = "", progress: Progress | None = None
) -> ImportSummary:
    summary = ImportSummary(rejects_path=path.with_suffix(".rejects.csv"))
    rows = read_rows(path, mapping or ColumnMapping(), prefix, summary)
    seen = Seen()
    for line, message in rows:
        try:
            _ensure_author_and_room(sink, message, seen)
            command = SendMessage(
                command_id=f"import:{message.message_id}",
                room_id=message.room_id,
                author_id=message.author_id,
                text=message.text,
                sent_at=message.sent_at,
            )
            summary.outcomes[sink(command).outcome] += 1
            summary.messages += 1
        except ValidationError as error:
            first = error.errors()[0]
            summary.rejects.append(Reject(line, f"{'.'.join(map(str, first['loc']))}: {first['msg']}"))
        except DomainError as error:
            summary.rejects.append(Reject(line, str(error)))
        if progress is not None and summary.messages and summary.messages % 10_000 == 0:
            progress(f"chat import: {summary.messages} messages")
    _write_rejects(summary, summary.rejects_path)
    return summary


@dataclass
class Seen:
    """What this run already registered, created or joined (each command once per run)."""

    users: set[str] = field(default_factory=set)
    rooms: set[str] = field(default_factory=set)
    members: set[tuple[str, str]] = field(default_factory=set)
    owners: dict[str, str] = field(default_factory=dict)  # room -> its first author, who adds the later ones


def _ensure_author_and_room(sink: Sink, message: ImportedMessage, seen: Seen) -> None:
    """Register the author, create the room (its first author owns it) or join it."""
    if message.author_id not in seen.users:
        registered = RegisterUser(
            user_id=message.author_id, display_name=message.author_id, registered_at=message.sent_at
        )
        _created_here(sink, registered)
        seen.users.add(message.author_id)
    member = (message.room_id, message.author_id)
    if message.room_id not in seen.rooms:
        room = CreateRoom(
            room_id=message.room_id, kind=message.room_kind, owner_id=message.author_id, created_at=message.sent_at
        )
        if _created_here(sink, room):
            seen.members.add(member)
            seen.owners[message.room_id] = message.author_id
        seen.rooms.add(message.room_id)
    if member not in seen.members:
        command_id = f"import:{message.room_id}:{message.author_id}"[:64]
        joined = JoinRoom(
            command_id=command_id,
            room_id=message.room_id,
            user_id=message.author_id,
            # Anyone may join a group; a direct or support room's owner adds its other people.
            actor_id=seen.owners.get(message.room_id, message.author_id)
            if message.room_kind != "group"
            else message.author_id,
            at=message.sent_at,
        )
        sink(joined)
        seen.members.add(member)


def _created_here(sink: Sink, command: Command) -> bool:
    """Run a registration or creation; False when the user or room already exists with other details (made by the
    app or another file): it is still that user or room."""
    try:
        sink(command)
    except IdempotencyConflict:
        return False
    return True


def _write_rejects(summary: ImportSummary, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["line", "reason"])
        writer.writerows((r.line, r.reason) for r in summary.rejects)
