"""The kit's moderation queue on real PostgreSQL, with the sentiment service unreachable (a port nothing listens on):
content queued with its transaction stays queued with the reason, a pending pass says why it could not decide,
and nothing is lost. The decided path, against the real service, is in the sentiment service's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ports import free_port
from psycopg import sql
from psycopg_pool import ConnectionPool

from ingest.core.moderation import enqueue, item, moderate_after_commit, moderate_pending, pending_count
from ingest.core.storage import KIT_STORAGE
from serving.sentiment.contract import SentimentServiceError
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration


@pytest.fixture
def schema(stack_settings, unique_name) -> Iterator[str]:
    apply_all(stack_settings, [KIT_STORAGE], progress=lambda line: None)
    with ConnectionPool(stack_settings.postgres_url, min_size=1, max_size=1, name="moderation-schema") as pool:
        with pool.connection() as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(unique_name)))
            conn.execute("SELECT lakehouse_kit.create_moderation(%s)", (unique_name,))
        yield unique_name
        with pool.connection() as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(unique_name)))


@pytest.fixture
def pool(stack_settings) -> Iterator[ConnectionPool]:
    with ConnectionPool(stack_settings.postgres_url, min_size=1, max_size=2, name="moderation") as opened:
        yield opened


def never_called(conn, decision) -> None:
    raise AssertionError(f"no decision was expected, got {decision}")


def test_content_stays_queued_with_the_reason_while_the_service_is_unreachable(stack_settings, pool, schema):
    down = stack_settings.model_copy(update={"sentiment_service_url": f"http://127.0.0.1:{free_port()}"})
    items = [item(schema, "message", f"m{i}", "u-000001", f"text {i}") for i in range(3)]
    with pool.connection() as conn, conn.transaction():
        enqueue(conn, schema, items)

    assert moderate_after_commit(down, pool, schema, items, never_called) is None

    with pool.connection() as conn:
        rows = conn.execute(
            sql.SQL("SELECT content_id, attempts, last_error FROM {} ORDER BY content_id").format(
                sql.Identifier(schema, "unmoderated")
            )
        ).fetchall()
    assert [(content_id, attempts) for content_id, attempts, _ in rows] == [("m0", 1), ("m1", 1), ("m2", 1)]
    assert all("unreachable" in error for _, _, error in rows)

    with pytest.raises(SentimentServiceError, match="unreachable"):
        moderate_pending(down, pool, schema, never_called)
    assert pending_count(pool, schema) == 3


def test_a_caller_that_never_asked_is_picked_up_only_after_the_grace_period(stack_settings, pool, schema):
    down = stack_settings.model_copy(update={"sentiment_service_url": f"http://127.0.0.1:{free_port()}"})
    with pool.connection() as conn, conn.transaction():
        enqueue(conn, schema, [item(schema, "post", "p1", "u-000002", "x" * 6000)])

    # Fresh and never failed: its own caller may still be asking, so a pass leaves it alone.
    assert moderate_pending(down, pool, schema, never_called) == 0
    with pool.connection() as conn:
        (text,) = conn.execute(sql.SQL("SELECT text FROM {}").format(sql.Identifier(schema, "unmoderated"))).fetchone()
    assert len(text) == 5000  # judged by its beginning, within the service's limit
