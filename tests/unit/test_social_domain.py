"""The pure parts of the social domain: hashtags, the trust rule, feed keys and cursors, moderation statuses,
the contract, the generator and the importer's rows."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.core.errors import InvalidCommand
from ingest.core.reference_text import Sentence, read_uci
from ingest.social.commands import CreatePost, RegisterUser
from ingest.social.contract import CONTRACT, POST_CREATED
from ingest.social.feed_keys import Cursor, day_of, entry_id
from ingest.social.feeds import fan_out_target
from ingest.social.generator import SocialTraffic, social_commands
from ingest.social.hashtags import hashtags, topic_of
from ingest.social.importer import RowError, import_csv, parse_mapping, resolve, row_post
from ingest.social.moderation import status_after
from ingest.social.trust import level_after_flags


def test_hashtags_are_lowercased_distinct_and_ignore_non_tags() -> None:
    assert hashtags("Loved #Paris and #paris, not C#7 or a#b; #food_2 #1") == ["paris", "food_2"]
    assert topic_of("no tags here") is None
    assert topic_of("#Food first", named=None) == "food" and topic_of("x #a", named="#Travel") == "travel"


@pytest.mark.parametrize(
    ("current", "flags", "expected"),
    [("trusted", 0, "trusted"), ("trusted", 1, "normal"), ("normal", 2, "normal"), ("normal", 3, "restricted")]
    + [("restricted", 1, "restricted"), ("trusted", 5, "restricted")],
)
def test_flags_only_ever_lower_trust(current: str, flags: int, expected: str) -> None:
    assert level_after_flags(current, flags) == expected


def test_entry_ids_are_deterministic_timeuuids_ordered_by_time() -> None:
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    first, again, later = entry_id("p1", at), entry_id("p1", at), entry_id("p2", at + timedelta(seconds=1))
    assert first == again and first.version == 1 and first != entry_id("p2", at)
    assert later.time > first.time
    assert datetime(1582, 10, 15, tzinfo=UTC) + timedelta(microseconds=first.time // 10) == at
    assert day_of(datetime(2026, 3, 1, 23, 30)) == "2026-03-01"


def test_cursors_round_trip_and_garbage_is_refused_with_a_reason() -> None:
    cursor = Cursor("2026-03-01", uuid.uuid1())
    assert Cursor.decode(cursor.encode()) == cursor
    for bad in ("garbage", Cursor("2026-13-01", uuid.uuid1()).encode(), "!!!"):
        with pytest.raises(InvalidCommand, match="cursor"):
            Cursor.decode(bad)


def test_moderation_releases_or_rejects_held_posts() -> None:
    assert status_after("held", flagged=False) == "published"
    assert status_after("held", flagged=True) == "rejected"
    assert status_after("published", flagged=True) == "flagged"
    assert status_after("removed", flagged=False) == "removed"


def test_only_visible_posts_are_fanned_out() -> None:
    created = {"post_id": "p", "author_id": "a", "created_at": "2026-03-01T00:00:00+00:00"}
    assert fan_out_target({"type": POST_CREATED[0], "payload": created | {"status": "published"}})[0] == "p"
    assert fan_out_target({"type": POST_CREATED[0], "payload": created | {"status": "held"}}) is None
    released = created | {"status": "published", "previous_status": "held"}
    assert fan_out_target({"type": "social.post.moderated", "payload": released}) is not None
    again = created | {"status": "published", "previous_status": "published"}
    assert fan_out_target({"type": "social.post.moderated", "payload": again}) is None


def test_contract_declares_topics_entities_and_notifications() -> None:
    assert set(CONTRACT.entities.values()) == {spec.name for spec in CONTRACT.topics}
    assert CONTRACT.notifications == {"social.post.flagged", "social.user.trust_changed"}
    with pytest.raises(ValueError):
        CONTRACT.schema_for(*POST_CREATED).model_validate({"post_id": "p"})


def test_generator_is_deterministic_and_uses_only_given_sentences() -> None:
    sentences = [Sentence(f"sentence {n}", n % 2, "test") for n in range(30)]
    config = SocialTraffic(seed=7, count=40, now=datetime(2026, 3, 1, tzinfo=UTC))
    first, second = list(social_commands(config, sentences)), list(social_commands(config, sentences))
    assert first == second
    users = [c.user_id for c in first if isinstance(c, RegisterUser)]
    assert users[:2] == ["u-000001", "u-000002"] and len(users) == 20
    posts = [c for c in first if isinstance(c, CreatePost)]
    assert len(posts) == 40
    texts = {s.text for s in sentences}
    assert all(p.text.split(" #")[0] in texts and hashtags(p.text) for p in posts)


def test_uci_sentences_are_read_with_universal_newlines(tmp_path: Path) -> None:
    folder = tmp_path / "sentiment_uci"
    folder.mkdir()
    (folder / "x_labelled.txt").write_bytes(b'A "quoted" one.\t1\rBad.\t0\rno label\r')
    assert [(s.text, s.label) for s in read_uci(folder / "x_labelled.txt")] == [('A "quoted" one.', 1), ("Bad.", 0)]


def test_importer_rows_say_what_is_wrong(tmp_path: Path) -> None:
    columns = resolve(["id", "user", "body", "ts"], parse_mapping("post_id=id,author_id=user,text=body,created_at=ts"))
    post = row_post(["p1", "u-1", "hello #x", "2026-01-02 03:04:05"], columns, "imp-")
    assert (post.post_id, post.created_at) == ("imp-p1", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    with pytest.raises(RowError, match="created_at"):
        row_post(["p1", "u-1", "hello", "yesterday"], columns)
    with pytest.raises(RowError, match="text: empty"):
        row_post(["p1", "u-1", " ", "2026-01-02"], columns)
    with pytest.raises(ValueError, match="lacks"):
        resolve(["id"], parse_mapping(""))
    csv_file = tmp_path / "posts.csv"
    csv_file.write_text("post_id,author_id,text,created_at\np1,u-1,hi,2026-01-01\np2,u-1,,2026-01-01\n")
    received: list[object] = []
    summary = import_csv(csv_file, received.append)
    assert (summary.imported, summary.authors, summary.rejected) == (1, 1, [(3, "text: empty")])
    assert [type(c).__name__ for c in received] == ["RegisterUser", "CreatePost"]


def test_other_sizes_or_another_day_never_reuse_a_post_id() -> None:
    sentences = [Sentence(f"sentence {n}", n % 2, "test") for n in range(30)]
    base = SocialTraffic(seed=7, count=40, now=datetime(2026, 3, 1, tzinfo=UTC))

    def post_ids(config: SocialTraffic) -> set[str]:
        return {c.post_id for c in social_commands(config, sentences) if isinstance(c, CreatePost)}

    first = post_ids(base)
    assert len(first) == 40 and first == post_ids(SocialTraffic(seed=7, count=40, now=base.now))
    for other in (replace(base, count=41), replace(base, days=7), replace(base, now=datetime(2026, 3, 2, tzinfo=UTC))):
        assert not first & post_ids(other), other
