"""One detector, two doors: a real NAB series replayed through the telemetry gateway and scored by the live scorer
(Kafka, Redis state, the champion from MLflow) gets exactly the scores and alerts `lakehouse score anomaly` writes
for the same file; and replaying it again is skipped by the scorer (nothing rescored, no alert repeated)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient, NewTopic
from redis import Redis

from features.anomaly.state_store import delete_states
from ingest.core.storage import KIT_STORAGE
from ingest.iot.contract import CONTRACT
from ingest.iot.gateway import create_app
from ingest.iot.replay import replay_file
from lakehouse.settings import Settings
from models.anomaly.registry import NoChampionError, load_champion_params, train_and_register
from models.anomaly.training import TrainingConfig
from serving.anomaly.live import LiveTopics, run_live_scorer
from serving.anomaly.series_scoring import score_file
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration
NAB_SERIES = Path("nab_dev/data/realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv")
ROWS = 1500  # enough history for the detector to alert (it stays quiet for its first 300 readings)


@pytest.fixture(scope="module")
def iot_settings(stack_settings: Settings) -> Settings:
    apply_all(stack_settings, [KIT_STORAGE, CONTRACT.storage], progress=lambda line: None)
    try:
        load_champion_params(stack_settings)
    except NoChampionError:  # a fresh MLflow store: the smallest real training run makes one
        train_and_register(stack_settings, TrainingConfig(cadences=(300,), devices=3, readings_per_device=1200))
    return stack_settings


@pytest.fixture
def topics(iot_settings: Settings, unique_name: str) -> LiveTopics:
    source, scores = f"{unique_name}.telemetry", f"{unique_name}.scores"
    admin = KafkaAdminClient(bootstrap_servers=iot_settings.kafka_bootstrap_servers)
    admin.create_topics([NewTopic(t, 2, 1) for t in (source, f"{source}.dlq", scores)])
    admin.close()
    return LiveTopics(source=source, scores=scores, dead_letters=f"{source}.dlq", group=f"scorer-{unique_name}")


def scores_on(settings: Settings, topic: str) -> list[dict]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=4000,
    )
    try:
        batches = [json.loads(record.value)["payload"] for record in consumer]
    finally:
        consumer.close()
    return [score for batch in batches for score in batch["scores"]]


def test_replayed_series_scores_like_the_score_command(
    iot_settings: Settings, topics: LiveTopics, unique_name: str, tmp_path: Path
) -> None:
    series = tmp_path / "series.csv"
    lines = (iot_settings.shared_data_dir / NAB_SERIES).read_text().splitlines()
    series.write_text("\n".join(lines[: ROWS + 1]) + "\n")
    device_id = f"nab-{unique_name}"
    try:
        with TestClient(create_app(iot_settings, topic=topics.source)) as gateway:
            replayed = replay_file(iot_settings, gateway, series, device_id, owner_id=f"owner-{unique_name}")
        assert (replayed.rows, replayed.accepted, replayed.problems) == (ROWS, ROWS, [])
        live = run_live_scorer(iot_settings, topics, until_idle=True)
        assert (live.scored, live.skipped, live.dead) == (ROWS, 0, 0)

        out = tmp_path / "scores.csv"
        with series.open() as source:
            score_file(iot_settings, source, out, "timestamp", "value")
        offline = list(csv.DictReader(io.StringIO(out.read_text())))
        streamed = sorted(scores_on(iot_settings, topics.scores), key=lambda score: score["ts"])
        assert len(offline) == len(streamed) == ROWS
        assert [float(row["value"]) for row in offline] == [score["value"] for score in streamed]
        assert [float(row["anomaly_score"]) for row in offline] == [score["anomaly_score"] for score in streamed]
        assert [int(row["alert"]) for row in offline] == [int(score["alert"]) for score in streamed]
        alerts = sum(int(row["alert"]) for row in offline)
        assert alerts >= 1, "the series has an incident the detector should catch"
        assert live.new_alerts == alerts
        with psycopg.connect(iot_settings.postgres_url) as conn:
            recorded = conn.execute("SELECT count(*) FROM iot.anomaly_alerts WHERE device_id = %s", (device_id,))
            assert recorded.fetchone()[0] == alerts

        # The same file again (a retried import): the gateway accepts it, the scorer skips every reading.
        with TestClient(create_app(iot_settings, topic=topics.source)) as gateway:
            again = replay_file(iot_settings, gateway, series, device_id)
        assert again.accepted == ROWS
        rerun = run_live_scorer(iot_settings, topics, until_idle=True)
        assert (rerun.scored, rerun.skipped, rerun.new_alerts) == (0, ROWS, 0)
    finally:
        redis = Redis.from_url(iot_settings.redis_url)
        delete_states(redis, [(device_id, "value")])
        redis.close()
