"""Chat traffic without the stack: importer rows (mapping, reasons), the reference sentences, and the generator's
commands (real texts, time order, follow-ups after their message, deterministic per seed)."""

from __future__ import annotations

import gzip
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.chat.commands import (
    Command,
    CreateRoom,
    DeleteMessage,
    EditMessage,
    RegisterUser,
    ReviewMessage,
    SendMessage,
)
from ingest.chat.generator import GeneratorConfig, generate
from ingest.chat.message_rows import ColumnMapping, RowError, parse_message, resolve_columns
from ingest.chat.unit_of_work import Accepted
from ingest.core.reference_text import load_sentences
from lakehouse.settings import Settings

HEADER = ["id", "ts", "room", "who", "body"]
MAPPING = ColumnMapping.parse("message_id=id,timestamp=ts,room_id=room,author_id=who,text=body")


def test_a_mapped_row_becomes_a_message() -> None:
    columns = resolve_columns(HEADER, MAPPING)
    message = parse_message(["m1", "2026-03-01 10:00:00", "r1", "u-000001", " hi there "], columns, "x-")
    assert (message.message_id, message.room_id, message.author_id) == ("x-m1", "x-r1", "x-u-000001")
    assert message.sent_at == datetime(2026, 3, 1, 10, tzinfo=UTC) and message.text == "hi there"
    assert message.room_kind == "group"


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        (["m1", "yesterday", "r1", "u1", "hi"], "timestamp: 'yesterday'"),
        (["m1", "1772323200", "r1", "u1", "  "], "text: missing"),
        (["m1", "1772323200", "r 1", "u1", "hi"], "room_id: 'r 1' is not an id"),
        (["m1", "1772323200"], "row has 2 columns"),
    ],
)
def test_a_bad_row_says_which_field_is_wrong(values: list[str], reason: str) -> None:
    with pytest.raises(RowError, match=reason):
        parse_message(values, resolve_columns(HEADER, MAPPING), "")


def test_a_missing_required_column_is_named() -> None:
    with pytest.raises(ValueError, match="text \\(column 'text'\\)"):
        resolve_columns(["message_id", "timestamp", "room_id", "author_id"], ColumnMapping())


def reference_data(root: Path) -> Path:
    (root / "sentiment_goemotions").mkdir(parents=True)
    with gzip.open(root / "sentiment_goemotions" / "goemotions_binary.csv.gz", "wt", encoding="utf-8") as out:
        out.write('text,label\n"Great, thanks!",1\nThis is awful,0\nso happy for you,1\n')
    (root / "sentiment_uci").mkdir()
    uci = 'Loved it.\t1\r"Not ""good"", sadly."\t0\rTerrible service\t0\r'
    (root / "sentiment_uci" / "yelp_labelled.txt").write_bytes(uci.encode("mac_roman"))
    return root


def test_sentences_are_read_from_both_reference_sets(tmp_path: Path) -> None:
    found = {(s.text, s.label) for s in load_sentences(reference_data(tmp_path))}
    assert found == {
        ("Great, thanks!", 1),
        ("This is awful", 0),
        ("so happy for you", 1),
        ("Loved it.", 1),
        ('Not "good", sadly.', 0),
        ("Terrible service", 0),
    }


def run_generator(tmp_path: Path, seed: int) -> list[Command]:
    commands: list[Command] = []

    def sink(command: Command) -> Accepted:
        commands.append(command)
        made = str(uuid.uuid5(uuid.NAMESPACE_URL, getattr(command, "command_id", "x")))
        return Accepted("thing", made, "created", 1)

    config = GeneratorConfig(count=300, seed=seed, users=30, rooms=6, days=3, now=datetime(2026, 3, 10, tzinfo=UTC))
    config = GeneratorConfig(**{**config.__dict__, "edit_rate": 0.2, "review_rate": 0.2, "delete_rate": 0.2})
    settings = Settings(shared_data_dir=reference_data(tmp_path / str(seed)))
    summary = generate(config, sink, settings)
    assert summary.commands["SendMessage"] == 300 and sum(summary.true_labels.values()) == 300
    return commands


def test_the_generator_speaks_real_sentences_in_time_order(tmp_path: Path) -> None:
    commands = run_generator(tmp_path, seed=3)
    sentences = {s.text for s in load_sentences(tmp_path / "3")}
    sends = [c for c in commands if isinstance(c, SendMessage)]
    assert all(c.text.split(" ", 1)[-1] in sentences or c.text in sentences for c in sends)
    assert any(c.text.startswith("@u-") for c in sends)  # some mentions
    assert [c.sent_at for c in sends] == sorted(c.sent_at for c in sends)
    kinds = {type(c) for c in commands}
    assert {RegisterUser, CreateRoom, SendMessage, EditMessage, ReviewMessage, DeleteMessage} <= kinds
    first = commands.index(next(c for c in commands if isinstance(c, SendMessage)))
    assert all(isinstance(c, RegisterUser | CreateRoom) for c in commands[:first])
    members = {r.room_id: {r.owner_id, *r.members} for r in commands if isinstance(r, CreateRoom)}
    assert all(c.author_id in members[c.room_id] for c in sends)
    reviews = [c for c in commands if isinstance(c, ReviewMessage)]
    assert all(r.reviewer_id in members[r.room_id] for r in reviews)


def test_the_generator_is_deterministic_per_seed(tmp_path: Path) -> None:
    assert run_generator(tmp_path, seed=5) == run_generator(tmp_path / "again", seed=5)


def test_other_sizes_or_another_day_never_reuse_a_room_or_message_id(tmp_path: Path) -> None:
    # The same ids with other content would be refused as idempotency conflicts: a second `lakehouse run` with
    # other sizes, or on another day, failed on the first room.
    base = GeneratorConfig(count=40, seed=5, users=30, rooms=6, days=3, now=datetime(2026, 3, 10, tzinfo=UTC))
    settings = Settings(shared_data_dir=reference_data(tmp_path))

    def ids(config: GeneratorConfig) -> set[str]:
        sent: list[Command] = []

        def sink(command: Command) -> Accepted:
            sent.append(command)
            return Accepted("thing", str(uuid.uuid5(uuid.NAMESPACE_URL, getattr(command, "command_id", "x"))), "", 1)

        generate(config, sink, settings)
        return {c.room_id for c in sent if isinstance(c, CreateRoom)} | {
            c.command_id for c in sent if isinstance(c, SendMessage)
        }

    first = ids(base)
    assert first == ids(GeneratorConfig(**base.__dict__))  # the same run replays
    for change in ({"count": 41}, {"users": 31}, {"rooms": 7}, {"now": datetime(2026, 3, 11, tzinfo=UTC)}):
        assert not first & ids(GeneratorConfig(**{**base.__dict__, **change})), change
