"""A series replayed end to end on the real stack: the device is registered, good rows go through the gateway and
the writer into Cassandra, bad rows are reported with their line, and a re-import duplicates nothing.

The gateway runs in-process (its test client is the httpx client replay posts with) and produces to a topic of the
test's own; the writer reads that topic with a group of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from kafka.admin import KafkaAdminClient, NewTopic

from ingest.core.cassandra import open_session
from ingest.core.storage import KIT_STORAGE
from ingest.iot.cassandra_writer import WriterTopics, last_readings, readings_between, run_writer
from ingest.iot.contract import CONTRACT, reading_id
from ingest.iot.gateway import create_app
from ingest.iot.replay import replay_file
from lakehouse.settings import Settings
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration
START = datetime(2014, 2, 14, 23, 0, tzinfo=UTC)  # NAB-like: years ago, across a midnight


@pytest.fixture
def topics(stack_settings: Settings, unique_name: str) -> WriterTopics:
    apply_all(stack_settings, [KIT_STORAGE, CONTRACT.storage], progress=lambda line: None)
    source = f"{unique_name}.telemetry"
    admin = KafkaAdminClient(bootstrap_servers=stack_settings.kafka_bootstrap_servers)
    admin.create_topics([NewTopic(t, num_partitions=2, replication_factor=1) for t in (source, f"{source}.dlq")])
    admin.close()
    return WriterTopics(source=source, dead_letters=f"{source}.dlq", group=f"writer-{unique_name}")


@pytest.fixture
def client(stack_settings: Settings, topics: WriterTopics) -> Iterator[TestClient]:
    with TestClient(create_app(stack_settings, topic=topics.source)) as test_client:
        yield test_client


def series_file(folder: Path) -> Path:
    """24 readings five minutes apart, value = minutes since START; line 5 has no number, line 9 no time."""
    lines = ["timestamp,value"] + [f"{START + timedelta(minutes=5 * i):%Y-%m-%d %H:%M:%S},{5 * i}" for i in range(24)]
    lines[4] = lines[4].split(",")[0] + ",n/a"
    lines[8] = "sometime," + lines[8].split(",")[1]
    path = folder / "series.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_series_is_replayed_into_cassandra_once_however_often_it_is_imported(
    stack_settings: Settings, client: TestClient, topics: WriterTopics, unique_name: str, tmp_path: Path
) -> None:
    device, path = f"replay-{unique_name}", series_file(tmp_path)
    first = replay_file(stack_settings, client, path, device, sensor="ambient_temperature")
    assert (first.rows, first.accepted) == (24, 22)
    assert [p.split(":")[0] for p in first.problems] == ["line 5", "line 9"]
    assert "not a number" in first.problems[0] and "not a valid timestamp" in first.problems[1]
    with psycopg.connect(stack_settings.postgres_url) as conn:
        model = conn.execute("SELECT model_id FROM iot.devices WHERE device_id = %s", (device,)).fetchone()
    assert model == ("replay-ambient_temperature-300s",)

    again = replay_file(stack_settings, client, path, device, sensor="ambient_temperature")  # a new key is issued
    assert again.accepted == 22
    assert run_writer(stack_settings, topics, until_idle=True).readings == 44

    good_lines = [line for line in range(2, 26) if line not in (5, 9)]
    with open_session(stack_settings) as session:
        stored = readings_between(session, device, START, START + timedelta(days=1))
        latest = last_readings(session, device, 3, now=START + timedelta(days=1))
    assert [r.seq for r in stored] == good_lines  # each once, oldest first, across the two days
    assert [r.value for r in stored] == [5.0 * (line - 2) for line in good_lines]
    assert stored[0].reading_id == reading_id(device, "ambient_temperature", START, 2)
    assert [r.seq for r in latest] == [25, 24, 23]
