"""Chat end to end on the real stack: generated conversations (through the use cases) → outbox → Kafka (this
test's own topics) → bronze → silver (quarantine, checks) → gold ``room_activity_daily``, via Dagster.

The expected gold is computed here from the outbox rows, independently of the Spark code.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from dagster import DagsterInstance, materialize
from delta.tables import DeltaTable
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from assets.chat import descriptions
from assets.core.domain import domain_assets
from assets.materialize import range_tags
from assets.resources import LakehouseResource
from ingest.chat import contract as ev
from ingest.chat.context import open_context
from ingest.chat.generator import GeneratorConfig, generate
from ingest.chat.service import handle
from ingest.core.envelope import EventEnvelope
from ingest.core.storage import KIT_STORAGE
from pipelines.chat.lakehouse import LAKEHOUSE
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration


def generated_events(settings, seed: int) -> list[dict]:
    config = GeneratorConfig(count=120, seed=seed, users=20, rooms=4, days=2, now=datetime(2026, 2, 1, tzinfo=UTC))
    with open_context(settings, actor="test") as ctx:
        generate(config, lambda command: handle(command, ctx), settings)
        with ctx.pool.connection() as conn:
            rows = conn.execute(
                "SELECT envelope FROM chat.outbox WHERE message_key LIKE %s ORDER BY id", (f"gen-{seed}-%",)
            ).fetchall()
    return [json.loads(text) for (text,) in rows]


def moderated(sent: dict, label: int, flagged: bool) -> dict:
    p = sent["payload"]
    payload = {key: p[key] for key in ("message_id", "room_id", "day", "author_id")}
    payload |= {"label": label, "score": 0.9 if label else 0.1, "flagged": flagged, "reason": "test"}
    payload |= {"model_version": "1", "moderated_at": "2026-02-02T00:00:00+00:00"}
    envelope = EventEnvelope(type="chat.message.moderated", version=1, key=p["room_id"], payload=payload)
    return json.loads(envelope.to_json())


def test_generated_conversations_flow_to_gold(stack_settings, spark, tmp_path, unique_name) -> None:
    apply_all(stack_settings, [KIT_STORAGE, ev.CONTRACT.storage], progress=lambda line: None)
    seed = random.randrange(10**6, 10**9)
    events = generated_events(stack_settings, seed)
    sends = [e for e in events if e["type"] == "chat.message.sent"]
    rng = random.Random(seed)
    decisions = {s["payload"]["message_id"]: (rng.randint(0, 1), rng.random() < 0.3) for s in sends[::3]}
    events += [moderated(s, *decisions[s["payload"]["message_id"]]) for s in sends[::3]]

    topics = {entity: f"{unique_name}.{entity}" for entity in LAKEHOUSE.contract.entities}
    admin = KafkaAdminClient(bootstrap_servers=stack_settings.kafka_bootstrap_servers)
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1) for topic in topics.values()])
    admin.close()
    entity_of = {topic: entity for entity, topic in LAKEHOUSE.contract.entities.items()}
    producer = KafkaProducer(bootstrap_servers=stack_settings.kafka_bootstrap_servers, acks="all")
    for event in events:
        topic = topics[entity_of[ev.EVENT_SCHEMAS[(event["type"], event["version"])][1]]]
        producer.send(topic, key=event["key"].encode(), value=json.dumps(event).encode())
    bad_kind = EventEnvelope(
        type="chat.room.created",
        version=1,
        key="x",
        payload={
            "room_id": "x",
            "kind": "channel",
            "title": "",
            "created_by": "u",
            "created_at": "2026-01-01T00:00:00+00:00",
        },
    )
    producer.send(topics["rooms"], key=b"x", value=bad_kind.to_json())
    producer.send(topics["messages"], key=b"x", value=b"{not json")
    producer.flush()
    producer.close()

    built = domain_assets(LAKEHOUSE, descriptions.SILVER, descriptions.GOLD, topics)
    settings = stack_settings.model_copy(update={"lake_root": str(tmp_path)})
    resources = {"lakehouse": LakehouseResource.from_settings(settings)}
    instance = DagsterInstance.ephemeral()
    result = materialize([*built.assets, *built.checks], resources=resources, instance=instance)
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())

    def table(layer: str, name: str):
        return spark.read.format("delta").load(str(tmp_path / layer / f"chat_{name}"))

    reasons = sorted(r.reason for r in table("quarantine", "events").collect())
    assert reasons == ["invalid JSON", "payload.kind must match ^(direct|group|support)$"]
    assert table("silver", "messages").count() == len(sends)
    assert table("silver", "rooms").count() == 4

    expected: dict[tuple[str, str], Counter] = {}
    for s in sends:
        p = s["payload"]
        row = expected.setdefault((p["room_id"], p["day"]), Counter())
        label, flagged = decisions.get(p["message_id"], (None, False))
        row.update(messages=1, positive=label == 1, negative=label == 0, unscored=label is None, flagged=flagged)
    authors: dict[tuple[str, str], set] = {}
    for s in sends:
        authors.setdefault((s["payload"]["room_id"], s["payload"]["day"]), set()).add(s["payload"]["author_id"])
    gold = {(r.room_id, r.day.isoformat()): r for r in table("gold", "room_activity_daily").collect()}
    assert set(gold) == set(expected)
    for key, counts in expected.items():
        row = gold[key]
        assert (row.messages, row.positive, row.negative, row.unscored, row.flagged) == (
            counts["messages"],
            counts["positive"],
            counts["negative"],
            counts["unscored"],
            counts["flagged"],
        ), key
        assert row.active_users == len(authors[key])
        assert row.moderation_rate == pytest.approx(counts["flagged"] / counts["messages"])

    # The whole build recorded a Dagster partition for every day it wrote; a backfill of one day rebuilds that day
    # alone: a day lost from gold comes back, the others are not rewritten.
    (gold_asset,) = [a for a in built.gold if a.key.path[-1] == "room_activity_daily"]
    days = sorted({day for _, day in expected})
    assert sorted(instance.get_materialized_partitions(gold_asset.key)) == days
    path = str(tmp_path / "gold" / "chat_room_activity_daily")
    DeltaTable.forPath(spark, path).delete(f"day = '{days[0]}'")
    before = {key: row for key, row in gold.items() if key[1] != days[0]}
    day = date.fromisoformat(days[0])
    assert materialize([gold_asset], resources=resources, instance=instance, tags=range_tags(day, day)).success
    after = {(r.room_id, r.day.isoformat()): r for r in table("gold", "room_activity_daily").collect()}
    assert after == gold
    commit = DeltaTable.forPath(spark, path).history(1).first()
    assert commit["operationParameters"]["predicate"].count(days[0]) >= 1 and after.keys() - before.keys()
