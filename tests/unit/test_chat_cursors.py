"""Message ids, buckets, mentions and page cursors: the pure pieces of chat's Cassandra layout."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ingest.chat import cursors
from ingest.chat.buckets import day_of, mentioned, message_id_at, month_of, sent_at_of, write_timestamp
from ingest.core.errors import InvalidCommand


def test_a_message_id_carries_its_send_time_and_two_of_one_instant_differ() -> None:
    at = datetime(2026, 3, 1, 23, 59, 59, 123456, tzinfo=UTC)
    first, second = message_id_at(at), message_id_at(at)
    assert first != second and first.version == second.version == 1
    assert sent_at_of(first) == at


def test_buckets_are_utc_days_and_months() -> None:
    late_in_paris = datetime(2026, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert day_of(late_in_paris) == "2026-02-28" and month_of(late_in_paris) == "2026-02"
    assert day_of(datetime(2026, 12, 31, 23, 59)) == "2026-12-31"  # naive is UTC


def test_a_later_change_has_a_larger_write_timestamp() -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    assert write_timestamp(at + timedelta(microseconds=1)) - write_timestamp(at) == 1
    assert write_timestamp(at) == 1_772_323_200_000_000


def test_mentions_are_found_once_in_order_and_not_in_email_addresses() -> None:
    text = "@u-000002 hi, ask @ada. (mail bob@example.com) and @u-000002 again;@carol too"
    assert mentioned(text) == ["u-000002", "ada", "carol"]
    assert mentioned("no one here @ ") == []


def test_a_cursor_round_trips_and_is_opaque() -> None:
    cursor = cursors.Cursor("2026-03-01", uuid.uuid1())
    text = cursors.encode(cursor)
    assert cursors.decode(text) == cursor and "2026" not in text and "=" not in text


@pytest.mark.parametrize(
    "text",
    ["zzz", "", "e30", cursors.encode(cursors.Cursor("yesterday", uuid.uuid1()))],
    ids=["not-base64", "empty", "empty-object", "bucket-not-a-day"],  # stable: test workers collect the same ids
)
def test_a_cursor_that_was_not_handed_out_is_a_422(text: str) -> None:
    with pytest.raises(InvalidCommand, match="cursor"):
        cursors.decode(text)
