"""The live anomaly scorer on the real stack (Kafka, Redis, PostgreSQL): a registered device's telemetry is scored
in order, each alert is recorded on the device's maintenance ticket, a restart continues from the Redis state with
the scores of an uninterrupted run, a redelivered batch is skipped and a malformed message is dead-lettered with
who did it and why while the good ones flow."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from redis import Redis

from features.anomaly.state_store import delete_states, load_state
from ingest.core.storage import KIT_STORAGE
from ingest.core.unit_of_work import set_actor
from ingest.iot.contract import CONTRACT, SCORES_BATCH, ReadingV1, ScoresBatchV1, TelemetryBatchV1, reading_id
from ingest.iot.registry import ensure_device_model, ensure_site, register_device
from ingest.iot.telemetry_producer import open_telemetry_producer, produce_batch
from lakehouse.settings import Settings
from models.anomaly.detector import score_series
from models.anomaly.fitted import FittedDetector
from models.anomaly.registry import ChampionParams
from serving.anomaly import live
from serving.anomaly.live import LiveTopics, run_live_scorer
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration
SENSOR = "temperature"
START = datetime(2026, 3, 1, tzinfo=UTC)
CADENCE_S = 60
READINGS, PER_BATCH = 420, 35
CHAMPION = ChampionParams("test-7", FittedDetector({"60": {"threshold": 0.6, "cooldown_scale": 1.0}}, {}))


@pytest.fixture(scope="module")
def iot_settings(stack_settings: Settings) -> Settings:
    apply_all(stack_settings, [KIT_STORAGE, CONTRACT.storage], progress=lambda line: None)
    return stack_settings


@pytest.fixture
def topics(iot_settings: Settings, unique_name: str) -> LiveTopics:
    source, scores = f"{unique_name}.telemetry", f"{unique_name}.scores"
    admin = KafkaAdminClient(bootstrap_servers=iot_settings.kafka_bootstrap_servers)
    admin.create_topics(
        [NewTopic(t, num_partitions=2, replication_factor=1) for t in (source, f"{source}.dlq", scores)]
    )
    admin.close()
    return LiveTopics(source=source, scores=scores, dead_letters=f"{source}.dlq", group=f"scorer-{unique_name}")


@pytest.fixture
def device(iot_settings: Settings, unique_name: str):  # noqa: ANN201
    """A registered device of a one-minute model; its detector state is removed afterwards."""
    device_id, model_id = f"dev-{unique_name}", f"model-{unique_name}"
    with psycopg.connect(iot_settings.postgres_url) as conn, conn.transaction():
        set_actor(conn, "iot", "test")
        ensure_site(conn, site_id=f"site-{unique_name}", name="test site", timezone="UTC", actor="test")
        ensure_device_model(
            conn, model_id=model_id, name="probe", sensors=[SENSOR], sampling_seconds=CADENCE_S, actor="test"
        )
        register_device(
            conn,
            device_id=device_id,
            serial=f"sn-{unique_name}",
            model_id=model_id,
            site_id=f"site-{unique_name}",
            owner_id=f"owner-{unique_name}",
            actor="test",
        )
    yield device_id, model_id
    redis = Redis.from_url(iot_settings.redis_url)
    delete_states(redis, [(device_id, SENSOR)])
    redis.close()


def series() -> tuple[list[datetime], list[float]]:
    """Daily-ish noise with a spike and a level shift once the detector has enough history to alert."""
    rng = np.random.default_rng(17)
    times = [START + timedelta(seconds=CADENCE_S * i) for i in range(READINGS)]
    values = 40 + 3 * np.sin(np.arange(READINGS) / 30) + rng.normal(0, 0.5, READINGS)
    values[340] += 25
    values[390:] += 12
    return times, [round(float(v), 4) for v in values]


def batches(device_id: str) -> list[TelemetryBatchV1]:
    times, values = series()
    out = []
    for number, first in enumerate(range(0, READINGS, PER_BATCH)):
        readings = [
            ReadingV1(
                reading_id=reading_id(device_id, SENSOR, times[i], i),
                sensor=SENSOR,
                ts=times[i],
                value=values[i],
                seq=i,
            )
            for i in range(first, min(first + PER_BATCH, READINGS))
        ]
        out.append(TelemetryBatchV1(batch_id=f"b-{number}", device_id=device_id, accepted_at=START, readings=readings))
    return out


def read_topic(settings: Settings, topic: str) -> list:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=4000,
    )
    try:
        return list(consumer)
    finally:
        consumer.close()


def test_scores_alerts_restart_redelivery_and_dead_letters(
    iot_settings: Settings, topics: LiveTopics, device, monkeypatch: pytest.MonkeyPatch
) -> None:
    device_id, model_id = device
    monkeypatch.setattr(live, "SCORES_PER_MESSAGE", 20)  # a poll's scores of one device span several messages
    sent = batches(device_id)
    producer = open_telemetry_producer(iot_settings)
    for batch in sent[:5]:
        produce_batch(producer, batch, topics.source)
    first = run_live_scorer(iot_settings, topics, champion=CHAMPION, until_idle=True)
    assert (first.scored, first.skipped, first.dead) == (5 * PER_BATCH, 0, 0)
    assert load_state(Redis.from_url(iot_settings.redis_url), device_id, SENSOR).seen == 5 * PER_BATCH

    raw = KafkaProducer(bootstrap_servers=iot_settings.kafka_bootstrap_servers)
    raw.send(topics.source, key=device_id.encode(), value=b"\xff not json").get(30)
    raw.close()
    produce_batch(producer, sent[3], topics.source)  # a retried batch: already scored
    for batch in sent[5:]:
        produce_batch(producer, batch, topics.source)
    producer.close()
    # A new scorer (a restart): its states come from Redis, not from memory.
    second = run_live_scorer(iot_settings, topics, champion=CHAMPION, until_idle=True)
    assert (second.scored, second.skipped, second.dead) == (READINGS - 5 * PER_BATCH, PER_BATCH, 1)

    times, values = series()
    expected = score_series(CHAMPION.params_for(model_id, CADENCE_S), times, values)
    assert expected["alert"].sum() >= 1, "the series must alert for this test to mean something"
    scored = []
    for record in read_topic(iot_settings, topics.scores):
        envelope = json.loads(record.value)
        assert (envelope["type"], envelope["version"], record.key) == (*SCORES_BATCH, device_id.encode())
        batch = ScoresBatchV1.model_validate(envelope["payload"])
        assert (batch.device_id, batch.sensor, batch.model_version) == (device_id, SENSOR, "test-7")
        scored += batch.scores
    assert [s.reading_id for s in scored] == [reading_id(device_id, SENSOR, t, i) for i, t in enumerate(times)]
    assert [s.anomaly_score for s in scored] == expected["anomaly_score"].tolist()  # exactly: restart-proof
    assert [int(s.alert) for s in scored] == expected["alert"].tolist()

    alerting = {s.reading_id for s in scored if s.alert}
    with psycopg.connect(iot_settings.postgres_url) as conn:
        rows = conn.execute(
            "SELECT reading_id, model_version, ticket_id FROM iot.anomaly_alerts WHERE device_id = %s", (device_id,)
        ).fetchall()
        tickets = conn.execute("SELECT count(*) FROM iot.maintenance_tickets WHERE device_id = %s", (device_id,))
        assert tickets.fetchone()[0] == 1
    assert {row[0] for row in rows} == alerting and {row[1] for row in rows} == {"test-7"}
    assert second.new_alerts + first.new_alerts == len(alerting)

    (dead,) = read_topic(iot_settings, topics.dead_letters)
    headers = dict(dead.headers)
    assert dead.value == b"\xff not json" and headers["dead_lettered_by"] == b"iot-anomaly-scorer"
    assert b"not JSON" in headers["reason"]
