"""The daily maintenance asset ``<domain>/maintenance/outbox`` on a real outbox: sent rows older than the retention
go, recent sent rows and every unsent row (old or not) stay, and a second run prunes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from dagster import materialize
from psycopg import sql

from assets.core.maintenance import outbox_pruning_asset
from assets.resources import LakehouseResource

pytestmark = pytest.mark.integration


def test_only_sent_rows_past_the_retention_are_pruned(stack_settings, unique_name):
    settings = stack_settings.model_copy(update={"outbox_retention_hours": 24})
    now = datetime.now(UTC)
    rows = {  # message key -> sent_at (None: unsent)
        "old-sent": now - timedelta(days=3),
        "old-unsent": None,
        "recent-sent": now - timedelta(hours=2),
    }
    outbox = sql.Identifier(unique_name, "outbox")
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(unique_name)))
        try:
            conn.execute("SELECT lakehouse_kit.create_outbox(%s)", (unique_name,))
            for key, sent_at in rows.items():
                conn.execute(
                    sql.SQL(
                        """INSERT INTO {} (event_id, topic, message_key, event_type, event_version, envelope,
                        created_at, sent_at) VALUES (gen_random_uuid(), 't', %s, 'x', 1, '{{}}', %s, %s)"""
                    ).format(outbox),
                    (key, now - timedelta(days=5), sent_at),
                )
            resources = {"lakehouse": LakehouseResource.from_settings(settings)}
            first = materialize([outbox_pruning_asset(unique_name)], resources=resources)
            second = materialize([outbox_pruning_asset(unique_name)], resources=resources)
            left = {r[0] for r in conn.execute(sql.SQL("SELECT message_key FROM {}").format(outbox))}
        finally:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(unique_name)))

    assert first.success and second.success
    pruned = [
        result.asset_materializations_for_node(f"{unique_name}__maintenance__outbox")[0].metadata["rows_pruned"].value
        for result in (first, second)
    ]
    assert pruned == [1, 0]
    assert left == {"old-unsent", "recent-sent"}
