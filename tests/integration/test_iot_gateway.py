"""The telemetry gateway on the real stack: a registered device's batch is one message on Kafka before the 202; a
retried batch duplicates nothing (the reading ids repeat on the topic, Cassandra holds each reading once after the
writer); a batch over 1,000 readings goes as chunks; every refusal says why, and nothing of a refused batch is sent.

The gateway produces to a topic of the test's own (``create_app(topic=...)``), so other helpers' traffic on
``iot.telemetry`` never mixes in.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient
from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient, NewTopic

from ingest.core.cassandra import open_session
from ingest.core.storage import KIT_STORAGE
from ingest.iot import registry
from ingest.iot.cassandra_writer import WriterTopics, readings_between, run_writer
from ingest.iot.contract import CONTRACT
from ingest.iot.gateway import create_app
from lakehouse.settings import Settings
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration
SENSORS = ["temperature", "vibration"]


@pytest.fixture(scope="module")
def iot_settings(stack_settings: Settings) -> Settings:
    apply_all(stack_settings, [KIT_STORAGE, CONTRACT.storage], progress=lambda line: None)
    return stack_settings


@pytest.fixture(scope="module")
def topic(iot_settings: Settings) -> str:
    name = f"t_gateway_{datetime.now(UTC):%H%M%S%f}.telemetry"
    admin = KafkaAdminClient(bootstrap_servers=iot_settings.kafka_bootstrap_servers)
    admin.create_topics([NewTopic(t, num_partitions=3, replication_factor=1) for t in (name, f"{name}.dlq")])
    admin.close()
    return name


@pytest.fixture(scope="module")
def client(iot_settings: Settings, topic: str) -> Iterator[TestClient]:
    with TestClient(create_app(iot_settings, topic=topic)) as test_client:
        yield test_client


def register(settings: Settings, name: str) -> tuple[str, str]:
    """A device of a two-sensor model at a site of its own; its id and plain key."""
    with psycopg.connect(settings.postgres_url) as conn, conn.transaction():
        registry.ensure_site(conn, site_id=f"site-{name}", name="test site", timezone="UTC", actor="test")
        registry.ensure_device_model(
            conn, model_id=f"model-{name}", name="test model", sensors=SENSORS, sampling_seconds=60, actor="test"
        )
        key = registry.register_device(
            conn,
            device_id=f"dev-{name}",
            serial=f"sn-{name}",
            model_id=f"model-{name}",
            site_id=f"site-{name}",
            owner_id="u-test",
            actor="test",
        )
    assert key is not None
    return f"dev-{name}", key


@pytest.fixture
def device(iot_settings: Settings, unique_name: str) -> tuple[str, str]:
    return register(iot_settings, unique_name)


def headers(device: tuple[str, str]) -> dict[str, str]:
    return {"X-Device-Id": device[0], "X-Device-Key": device[1]}


def readings(count: int, start: datetime | None = None) -> list[dict]:
    start = start or datetime.now(UTC) - timedelta(hours=1)
    return [
        {"sensor": SENSORS[i % 2], "ts": (start + timedelta(seconds=i)).isoformat(), "value": i * 0.5, "seq": i}
        for i in range(count)
    ]


def messages_of(settings: Settings, topic: str, device_id: str) -> list[dict]:
    """Every envelope on ``topic`` keyed by ``device_id`` (the gateway answered after the ack: they are all there)."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    try:
        return [json.loads(r.value) for r in consumer if r.key.decode() == device_id]
    finally:
        consumer.close()


def test_a_batch_is_one_acknowledged_message_keyed_by_device(
    client: TestClient, iot_settings: Settings, topic: str, device: tuple[str, str]
) -> None:
    sent = readings(10)
    answer = client.post("/telemetry", json={"batch_id": "b-1", "readings": sent}, headers=headers(device))
    assert answer.status_code == 202, answer.text
    assert answer.json() | {"accepted_at": None} == {
        "batch_id": "b-1",
        "device_id": device[0],
        "accepted": 10,
        "messages": ["b-1"],
        "accepted_at": None,
    }
    [message] = messages_of(iot_settings, topic, device[0])
    assert (message["type"], message["version"], message["event_id"]) == ("iot.telemetry.batch", 1, "b-1")
    payload = message["payload"]
    assert payload["device_id"] == device[0] and payload["batch_id"] == "b-1"
    assert [r["reading_id"] for r in payload["readings"]] == [f"{device[0]}/{r['sensor']}/s{r['seq']}" for r in sent]
    assert [r["value"] for r in payload["readings"]] == [r["value"] for r in sent]


def test_a_retried_batch_duplicates_nothing_downstream(
    client: TestClient, iot_settings: Settings, topic: str, device: tuple[str, str], unique_name: str
) -> None:
    sent = [{k: v for k, v in r.items() if k != "seq"} for r in readings(40)]  # ids from the timestamps
    first = client.post("/telemetry", json={"readings": sent}, headers=headers(device))
    retry = client.post("/telemetry", json={"readings": sent}, headers=headers(device))
    assert first.status_code == retry.status_code == 202
    assert first.json()["batch_id"] == retry.json()["batch_id"]  # no client id: the content's hash, twice the same

    on_topic = messages_of(iot_settings, topic, device[0])
    ids = [r["reading_id"] for m in on_topic for r in m["payload"]["readings"]]
    assert len(on_topic) == 2 and len(ids) == 80 and len(set(ids)) == 40  # the ids deduplicate to the batch

    topics = WriterTopics(source=topic, dead_letters=f"{topic}.dlq", group=f"writer-{unique_name}")
    assert run_writer(iot_settings, topics, until_idle=True).dead == 0
    start = datetime.fromisoformat(sent[0]["ts"])
    with open_session(iot_settings) as session:
        stored = readings_between(session, device[0], start, start + timedelta(hours=1))
    assert len(stored) == 40
    assert sorted(r.reading_id for r in stored) == sorted(set(ids))


def test_a_big_batch_goes_as_chunks_of_at_most_1000(
    client: TestClient, iot_settings: Settings, topic: str, device: tuple[str, str]
) -> None:
    answer = client.post("/telemetry", json={"batch_id": "big", "readings": readings(2500)}, headers=headers(device))
    assert answer.status_code == 202 and answer.json()["messages"] == ["big/0", "big/1", "big/2"]
    on_topic = messages_of(iot_settings, topic, device[0])
    assert sorted((m["event_id"], len(m["payload"]["readings"])) for m in on_topic) == [
        ("big/0", 1000),
        ("big/1", 1000),
        ("big/2", 500),
    ]


def test_unknown_devices_wrong_keys_and_missing_headers_are_401(client: TestClient, device: tuple[str, str]) -> None:
    body = {"readings": readings(1)}
    missing = client.post("/telemetry", json=body, headers={"X-Device-Id": device[0]})
    unknown = client.post("/telemetry", json=body, headers={"X-Device-Id": "dev-nobody", "X-Device-Key": "k"})
    wrong = client.post("/telemetry", json=body, headers={"X-Device-Id": device[0], "X-Device-Key": "not-its-key"})
    assert (missing.status_code, unknown.status_code, wrong.status_code) == (401, 401, 401)
    assert "X-Device-Key" in missing.json()["detail"] and "unknown device" in unknown.json()["detail"]
    assert "wrong key" in wrong.json()["detail"]


def test_a_retired_device_is_403(client: TestClient, iot_settings: Settings, device: tuple[str, str]) -> None:
    with psycopg.connect(iot_settings.postgres_url) as conn:  # no status command in this test's reach: the row
        conn.execute("UPDATE iot.devices SET status = 'retired' WHERE device_id = %s", (device[0],))
    answer = client.post("/telemetry", json={"readings": readings(1)}, headers=headers(device))
    assert answer.status_code == 403 and "retired" in answer.json()["detail"]


def test_a_rotated_key_stops_working_once_the_cache_lets_go(
    iot_settings: Settings, topic: str, device: tuple[str, str]
) -> None:
    with TestClient(create_app(iot_settings, topic=topic, key_ttl_s=0)) as uncached:  # the TTL elapsed at once
        assert uncached.post("/telemetry", json={"readings": readings(1)}, headers=headers(device)).status_code == 202
        with psycopg.connect(iot_settings.postgres_url) as conn:
            new_key = registry.rotate_device_key(conn, device_id=device[0], actor="test")
        old = uncached.post("/telemetry", json={"readings": readings(1)}, headers=headers(device))
        new = uncached.post("/telemetry", json={"readings": readings(1)}, headers=headers((device[0], new_key)))
    assert old.status_code == 401 and "wrong key" in old.json()["detail"]
    assert new.status_code == 202


def test_bad_batches_are_refused_whole_with_each_problem_and_nothing_is_sent(
    client: TestClient, iot_settings: Settings, topic: str, device: tuple[str, str]
) -> None:
    bad = readings(4)
    bad[1]["value"] = "warm"
    bad[2]["ts"] = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    bad[3]["sensor"] = "pressure"
    answer = client.post("/telemetry", json={"readings": bad}, headers=headers(device))
    assert answer.status_code == 422
    problems = answer.json()["problems"]
    assert [p.split(":")[0] for p in problems] == ["readings[1]", "readings[2]", "readings[3]"]
    assert "not a number" in problems[0] and "future" in problems[1] and "model's sensors" in problems[2]

    too_many = client.post("/telemetry", json={"readings": readings(5001)}, headers=headers(device))
    assert too_many.status_code == 413 and "at most 5000" in too_many.json()["problems"][0]
    not_json = client.post("/telemetry", content=b"{oops", headers=headers(device))
    assert not_json.status_code == 422 and "not JSON" in not_json.json()["detail"]
    assert messages_of(iot_settings, topic, device[0]) == []


def test_the_openapi_docs_describe_the_endpoint_and_the_whole_batch_rule(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    post = schema["paths"]["/telemetry"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert (
        set(body["properties"]) == {"batch_id", "readings"}
        and "sensor" in body["properties"]["readings"]["items"]["properties"]
    )
    assert {"202", "401", "403", "413", "422", "503"} <= set(post["responses"])
    assert "accepted or refused as a whole" in schema["info"]["description"]
