"""`lakehouse import social posts.csv`: replay a real post history through the app's use cases.

The file needs a header; the default columns are ``post_id,author_id,text,created_at`` plus an optional ``topic``,
and ``--mapping post_id=id,author_id=user`` names others. Authors not registered yet are registered from the file
(``<author>@import.invalid``). A row that cannot become a post is reported with its line number and the reason
(and written to ``<input>.rejects.csv``); the good rows flow. Ids come from the file, so a re-import is a replay
and duplicates nothing.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from ingest.core.errors import DomainError
from ingest.social.commands import Command, CreatePost, RegisterUser

FIELDS = ("post_id", "author_id", "text", "created_at", "topic")
REQUIRED = ("post_id", "author_id", "text", "created_at")


class RowError(ValueError):
    """A row that cannot become a post; the message names the field."""


def parse_mapping(text: str) -> dict[str, str]:
    """``field=column,...`` → {field: column}; unknown fields are refused."""
    mapping = dict(FIELDS and {name: name for name in FIELDS})
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, column = part.partition("=")
        if name not in FIELDS or not column:
            raise ValueError(f"mapping: {part!r} is not <field>=<column> with a field among {', '.join(FIELDS)}")
        mapping[name] = column
    return mapping


def resolve(header: list[str], mapping: dict[str, str]) -> dict[str, int]:
    position = {name.strip(): n for n, name in enumerate(header)}
    missing = [f"{name} (column {mapping[name]!r})" for name in REQUIRED if mapping[name] not in position]
    if missing:
        raise ValueError(f"header {header} lacks {', '.join(missing)}; map them with --mapping field=column")
    return {name: position[column] for name, column in mapping.items() if column in position}


def parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromtimestamp(float(text), UTC) if text.replace(".", "", 1).isdigit() else None
        moment = moment or datetime.fromisoformat(text.strip())
    except (ValueError, OverflowError):
        raise RowError(f"created_at: {text!r} is not an ISO 8601 time or epoch seconds") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def row_post(row: list[str], columns: dict[str, int], prefix: str = "") -> CreatePost:
    """The post of one CSV row, or RowError saying why not."""
    value = {name: row[i].strip() if i < len(row) else "" for name, i in columns.items()}
    for name in REQUIRED:
        if not value.get(name):
            raise RowError(f"{name}: empty")
    try:
        return CreatePost(
            post_id=f"{prefix}{value['post_id']}",
            author_id=value["author_id"],
            text=value["text"],
            topic=value.get("topic") or None,
            created_at=parse_time(value["created_at"]),
        )
    except ValidationError as error:
        first = error.errors()[0]
        raise RowError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None


@dataclass
class ImportSummary:
    imported: int = 0
    authors: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def describe(self) -> str:
        lines = [f"imported {self.imported} posts ({self.authors} new authors), rejected {len(self.rejected)} rows"]
        return "\n".join(lines + [f"  line {line}: {reason}" for line, reason in self.rejected[:20]])


def import_csv(path: Path, sink: Callable[[Command], object], mapping: str = "", id_prefix: str = "") -> ImportSummary:
    summary, authors = ImportSummary(), set[str]()
    rejects = path.with_suffix(".rejects.csv")
    with path.open(encoding="utf-8", newline="") as handle, rejects.open("w", newline="") as out:
        reader, writer = csv.reader(handle), csv.writer(out)
        columns = resolve(next(reader), parse_mapping(mapping))
        writer.writerow(["line", "reason"])
        for row in reader:
            line = reader.line_num
            try:
                post = row_post(row, columns, id_prefix)
                if post.author_id not in authors:
                    sink(_author(post.author_id))
                    authors.add(post.author_id)
                    summary.authors += 1
                sink(post)
                summary.imported += 1
            except (RowError, DomainError) as error:
                summary.rejected.append((line, str(error)))
                writer.writerow([line, str(error)])
    return summary


def _author(author_id: str) -> RegisterUser:
    # A fixed registration time keeps the command identical on re-import (a replay, not a conflict).
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return RegisterUser(user_id=author_id, handle=author_id, email=f"{author_id}@import.invalid", registered_at=epoch)
