"""The kit is generic: a domain defined only under tests/ (tests/kitdemo) goes outbox → relay → Kafka → bronze →
silver, with quarantine and a blocking check, through the kit's use-case helpers, relay, pipelines and Dagster
factories, on the real stack. Nothing in it is copied from e-commerce."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from dagster import materialize
from kafka import KafkaProducer
from kitdemo.contract import ISSUED, badges_contract
from kitdemo.lakehouse import badges_lakehouse
from kitdemo.use_cases import IssueBadge, RevokeBadge, issue_badge, revoke_badge
from psycopg_pool import ConnectionPool

from assets.core.domain import domain_assets
from assets.core.keys import table_key
from assets.resources import LakehouseResource
from ingest.core.envelope import EventEnvelope
from ingest.core.errors import IdempotencyConflict, NotFound
from ingest.core.relay import RelaySources, relay_pass
from ingest.core.storage import KIT_STORAGE
from lakehouse.settings import Settings
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration


@pytest.fixture
def pool(stack_settings: Settings) -> Iterator[ConnectionPool]:
    with ConnectionPool(stack_settings.postgres_url, min_size=1, max_size=2, name="kitdemo") as opened:
        yield opened


def publish_raw(settings: Settings, topic: str, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    for value in values:
        producer.send(topic, key=b"raw", value=value)
    producer.flush()
    producer.close()


def test_a_domain_built_from_the_kit_alone_flows_from_outbox_to_silver(
    stack_settings, pool, spark, tmp_path, unique_name
):
    contract = badges_contract(unique_name)
    apply_all(stack_settings, [KIT_STORAGE, contract.storage], progress=lambda line: None)
    ids = [f"{unique_name}-b{i}" for i in range(3)]

    issued = [issue_badge(pool, contract, IssueBadge(badge_id=b, holder=f"holder {b}"), "test") for b in ids]
    replay = issue_badge(pool, contract, IssueBadge(badge_id=ids[0], holder=f"holder {ids[0]}"), "test")
    revoked = revoke_badge(
        pool, contract, RevokeBadge(revocation_id=f"r-{ids[1]}", badge_id=ids[1], reason="lost"), "test"
    )
    assert [a.outcome for a in issued] == ["created"] * 3 and (replay.outcome, replay.event_ids) == ("unchanged", ())
    assert revoked.version == 2
    with pytest.raises(IdempotencyConflict):
        issue_badge(pool, contract, IssueBadge(badge_id=ids[0], holder="someone else"), "test")
    with pytest.raises(NotFound, match="never issued"):
        revoke_badge(
            pool, contract, RevokeBadge(revocation_id=f"r-{unique_name}", badge_id="ghost", reason="x"), "test"
        )
    with pool.connection() as conn:
        audit = conn.execute(
            "SELECT action, actor FROM kitdemo.audit_log WHERE row_key = %s ORDER BY audit_id", (ids[1],)
        ).fetchall()
    assert audit == [("INSERT", "test"), ("UPDATE", "test")]

    @contextmanager
    def open_sources(_: Settings) -> Iterator[RelaySources]:
        yield RelaySources("kitdemo", pool)

    assert relay_pass(stack_settings, open_sources) >= 4  # 3 issued + 1 revoked (plus any earlier run's leftovers)
    assert relay_pass(stack_settings, open_sources) == 0
    topic = contract.entities["badges"]
    no_holder = {"badge_id": f"{unique_name}-bad", "holder": "", "issued_at": "2026-01-01T00:00:00+00:00"}
    bad = EventEnvelope(type=ISSUED[0], version=1, key="bad", payload=no_holder).to_json()
    publish_raw(stack_settings, topic, [b"{oops", bad])

    lakehouse = badges_lakehouse(contract)
    built = domain_assets(lakehouse, {"badges": "Every badge issued, with its revocation."}, {})
    settings = stack_settings.model_copy(update={"lake_root": str(tmp_path)})
    resources = {"lakehouse": LakehouseResource.from_settings(settings)}
    first = materialize([*built.assets, *built.checks], resources=resources)

    assert first.success
    assert [e.passed for e in first.get_asset_check_evaluations()] == [True]
    materialized = {event.asset_key for event in first.get_asset_materialization_events()}
    assert materialized == {table_key("kitdemo", "bronze", "badges"), table_key("kitdemo", "silver", "badges")}
    (bronze_meta,) = [m.metadata for m in first.asset_materializations_for_node(built.bronze[0].node_def.name)]
    columns = [column.name for column in bronze_meta["dagster/column_schema"].schema.columns]
    assert columns == ["key", "value", "topic", "partition", "offset", "kafka_timestamp", "ingested_at"]
    assert bronze_meta["row_count"].value == 6 and "| key" in bronze_meta["preview"].value

    def silver_rows():
        rows = spark.read.format("delta").load(str(tmp_path / "silver" / "kitdemo_badges")).collect()
        return sorted((r.badge_id, r.holder, r.revoked_at is not None) for r in rows)

    expected = [(b, f"holder {b}", b == ids[1]) for b in ids]
    assert silver_rows() == expected
    quarantine = spark.read.format("delta").load(str(tmp_path / "quarantine" / "kitdemo_events"))
    assert sorted(r.reason for r in quarantine.collect()) == [
        "invalid JSON",
        "payload.holder must have a length of at least 1",
    ]

    # At least once, exactly once in silver: the same events again change nothing.
    publish_raw(stack_settings, topic, [json.dumps(json.loads(bad)).encode()])
    assert materialize(built.assets, resources=resources).success
    assert silver_rows() == expected
    assert quarantine.count() == 3  # the re-sent bad record is another Kafka record, quarantined with its position
