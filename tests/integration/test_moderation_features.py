"""Moderation's author features on the real Redis and PostgreSQL: the online copy and the fallback give the same
numbers for the same decisions, and the service's reader picks online, fallback (missing, stale) or none.

Each test works in its own scratch schema (``lakehouse_kit.create_moderation``) and Redis keys named after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from ports import free_port
from psycopg import sql
from psycopg_pool import ConnectionPool
from redis import Redis

from features.moderation.fallback import UnknownDomain, histories_from_postgres
from features.moderation.history import PastDecision, author_features
from features.moderation.online import author_key, read_histories, rebuild_history
from ingest.core.storage import KIT_STORAGE
from lakehouse.settings import Settings
from serving.sentiment.author_features import author_histories, record_decisions
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration
HOUR = timedelta(hours=1)


@pytest.fixture
def pool(stack_settings: Settings) -> Iterator[ConnectionPool]:
    with ConnectionPool(stack_settings.postgres_url, min_size=1, max_size=2, name="moderation-features") as opened:
        yield opened


@pytest.fixture
def domain(stack_settings: Settings, pool: ConnectionPool, unique_name: str) -> Iterator[str]:
    apply_all(stack_settings, [KIT_STORAGE], progress=lambda line: None)
    with pool.connection() as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(unique_name)))
        conn.execute("SELECT lakehouse_kit.create_moderation(%s)", (unique_name,))
    yield unique_name
    with pool.connection() as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(unique_name)))


@pytest.fixture
def redis_client(stack_settings: Settings, domain: str) -> Iterator[Redis]:
    client = Redis.from_url(stack_settings.redis_url)
    yield client
    keys = list(client.scan_iter(f"features:moderation:{domain}:*"))
    if keys:
        client.delete(*keys)
    client.close()


# (content kind, content id, author, label, flagged, hours ago)
ROWS = [
    ("message", "m1", "u-1", 0, True, 1.0),
    ("message", "m2", "u-1", 0, False, 5.0),
    ("post", "p1", "u-1", 1, False, 23.5),
    ("message", "m0", "u-1", 0, True, 30.0),  # older than a day
    ("message", "m3", "u-2", 1, False, 2.0),
]
EXPECTED = {
    "u-1": {"messages_24h": 3, "negative_share_24h": 2 / 3, "flagged_24h": 1},
    "u-2": {"messages_24h": 1, "negative_share_24h": 0.0, "flagged_24h": 0},
    "u-3": {"messages_24h": 0, "negative_share_24h": 0.0, "flagged_24h": 0},
}


def store_decisions(pool: ConnectionPool, domain: str, now: datetime) -> None:
    """The rows the kit stores after each decision, with their decision times set."""
    insert = sql.SQL(
        "INSERT INTO {} (content_kind, content_id, author_id, label, score, flagged, reason, model_version,"
        " features_source, decided_at) VALUES (%s, %s, %s, %s, 0.5, %s, 'test', '1', 'none', %s)"
    ).format(sql.Identifier(domain, "moderation_decisions"))
    with pool.connection() as conn:
        for kind, content_id, author, label, flagged, hours in ROWS:
            conn.execute(insert, (kind, content_id, author, label, flagged, now - hours * HOUR))


def online_copy(redis_client: Redis, domain: str, now: datetime) -> None:
    """The same decisions as the service would have added them to Redis."""
    for author in ("u-1", "u-2"):
        decisions = [
            PastDecision(f"{kind}:{content_id}", (now - hours * HOUR).timestamp(), label, flagged)
            for kind, content_id, who, label, flagged, hours in ROWS
            if who == author
        ]
        rebuild_history(redis_client, domain, author, decisions, now)


def test_online_and_fallback_give_the_same_features(pool, redis_client, domain):
    now = datetime.now(UTC)
    store_decisions(pool, domain, now)
    online_copy(redis_client, domain, now)
    authors = ["u-1", "u-2", "u-3"]
    with pool.connection() as conn:
        from_postgres = histories_from_postgres(conn, domain, authors, now)
    from_redis = read_histories(redis_client, domain, authors, now, max_age_s=3600)
    assert from_redis["u-3"].status == "missing"
    for author in authors:
        fallback = author_features(from_postgres[author], now)
        assert fallback == pytest.approx(EXPECTED[author])
        if author != "u-3":
            assert author_features(from_redis[author].decisions, now) == pytest.approx(fallback)


def test_the_reader_says_where_each_authors_history_came_from(stack_settings, pool, redis_client, domain):
    now = datetime.now(UTC)
    store_decisions(pool, domain, now)
    rebuild_history(redis_client, domain, "u-1", [PastDecision("message:x", now.timestamp(), 0, True)], now)
    rebuild_history(redis_client, domain, "u-2", [PastDecision("message:y", now.timestamp(), 0, True)], now - 3 * HOUR)
    found = author_histories(redis_client, pool, domain, ["u-1", "u-2", "u-3", "u-4"], now, max_age_s=3600)
    assert {author: history.source for author, history in found.items()} == {
        "u-1": "online",
        "u-2": "fallback:stale",  # rebuilt 3 hours ago, allowed 1: PostgreSQL's numbers replace Redis's
        "u-3": "none",  # nothing anywhere: a first-time author
        "u-4": "none",
    }
    assert author_features(found["u-1"].decisions, now) == {
        "messages_24h": 1,
        "negative_share_24h": 1,
        "flagged_24h": 1,
    }
    assert author_features(found["u-2"].decisions, now) == pytest.approx(EXPECTED["u-2"])
    # The fallback rebuilt Redis: the next read is online, with PostgreSQL's decisions.
    again = read_histories(redis_client, domain, ["u-2", "u-3"], now, max_age_s=3600)
    assert again["u-2"].status == "fresh" and author_features(again["u-2"].decisions, now) == pytest.approx(
        EXPECTED["u-2"]
    )
    assert again["u-3"].status == "fresh" and again["u-3"].decisions == []


def test_a_missing_online_history_is_recomputed_from_postgres(pool, redis_client, domain):
    now = datetime.now(UTC)
    store_decisions(pool, domain, now)
    found = author_histories(redis_client, pool, domain, ["u-1"], now, max_age_s=3600)
    assert found["u-1"].source == "fallback:missing"
    assert author_features(found["u-1"].decisions, now) == pytest.approx(EXPECTED["u-1"])
    assert redis_client.ttl(author_key(domain, "u-1")) > 0


def test_a_domain_without_moderation_is_named(pool, unique_name):
    with pool.connection() as conn, pytest.raises(UnknownDomain, match=f"'{unique_name}x' has no moderation_decisions"):
        histories_from_postgres(conn, f"{unique_name}x", ["u-1"], datetime.now(UTC))


def test_an_unreachable_redis_is_read_as_missing_and_postgres_answers(pool, domain):
    now = datetime.now(UTC)
    store_decisions(pool, domain, now)
    unreachable = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.3, socket_connect_timeout=0.3)
    found = author_histories(unreachable, pool, domain, ["u-1", "u-3"], now, max_age_s=3600)
    assert {author: history.source for author, history in found.items()} == {"u-1": "fallback:missing", "u-3": "none"}
    assert author_features(found["u-1"].decisions, now) == pytest.approx(EXPECTED["u-1"])
    record_decisions(unreachable, domain, {"u-1": [PastDecision("message:z", now.timestamp(), 1, False)]}, found)
