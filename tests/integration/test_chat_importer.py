"""Importing a message history on the real stack: good rows flow through the use cases, bad rows are reported
with their line and reason, and a re-import duplicates nothing."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ingest.chat.context import open_context
from ingest.chat.contract import CONTRACT
from ingest.chat.importer import ColumnMapping, import_csv
from ingest.chat.reads import room_history
from ingest.chat.service import handle
from ingest.core.storage import KIT_STORAGE
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration


def test_import_reports_bad_rows_and_reimport_duplicates_nothing(stack_settings, tmp_path: Path, unique_name) -> None:
    apply_all(stack_settings, [KIT_STORAGE, CONTRACT.storage], progress=lambda line: None)
    path = tmp_path / "messages.csv"
    rows = [
        ["id", "ts", "room", "who", "body"],
        ["m1", "2026-01-05 10:00:00", "lobby", "ada", "Hello, anyone here?"],
        ["m3", "2026-01-05 10:02:00", "lobby", "ada", "@bob great, thanks!"],
        ["m2", "2026-01-05 10:01:00", "lobby", "bob", "Yes, hi Ada."],
        ["m4", "not a time", "lobby", "bob", "lost"],
        ["m5", "2026-01-05 10:03:00", "lobby", "", "who?"],
    ]
    with path.open("w", newline="") as out:
        csv.writer(out).writerows(rows)
    mapping = ColumnMapping.parse("message_id=id,timestamp=ts,room_id=room,author_id=who,text=body")

    with open_context(stack_settings, actor="importer") as ctx:
        first = import_csv(path, lambda command: handle(command, ctx), mapping, f"{unique_name}-")
        again = import_csv(path, lambda command: handle(command, ctx), mapping, f"{unique_name}-")
        shown = room_history(ctx.pool, ctx.views, f"{unique_name}-lobby", f"{unique_name}-ada", 10, None).messages

    assert (first.rows, first.messages, dict(first.outcomes)) == (5, 3, {"created": 3})
    assert [(r.line, r.reason) for r in first.rejects] == [
        (5, "timestamp: 'not a time' is not an ISO 8601 time or epoch seconds"),
        (6, "author_id: missing"),
    ]
    assert (again.messages, dict(again.outcomes)) == (3, {"unchanged": 3})
    assert [m["body"] for m in shown] == ["@bob great, thanks!", "Yes, hi Ada.", "Hello, anyone here?"]
    assert (tmp_path / "messages.rejects.csv").read_text().count("\n") == 3
