"""The main job's chat and social settings: a fixed ``now`` ends both windows, as it ends e-commerce's and IoT's, so
the ids a re-run generates cannot change with the wall clock (CI's main-job test crossed midnight between its two
runs and published 717 events again)."""

from __future__ import annotations

from datetime import UTC, datetime

from entrypoints.community_demo import community_configs
from ingest.chat.generator import window_end


def test_a_fixed_now_ends_the_chat_and_social_windows() -> None:
    now = datetime(2026, 12, 5, 23, 0, tzinfo=UTC)
    chat, social = community_configs(messages=600, posts=200, seed=7, now=now)
    assert window_end(chat.now) == now == social.end
    again_chat, again_social = community_configs(messages=600, posts=200, seed=7, now=now)
    assert (chat.shape_tag(), social.shape_tag()) == (again_chat.shape_tag(), again_social.shape_tag())


def test_without_now_both_windows_end_at_midnight() -> None:
    chat, social = community_configs(messages=60, posts=20, seed=7)
    for end in (window_end(chat.now), social.end):
        assert (end.hour, end.minute, end.second, end.microsecond) == (0, 0, 0, 0)
