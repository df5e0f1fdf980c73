"""The IoT registry app on the real stack (PostgreSQL, MongoDB, Kafka): registration answers the device key once;
unknown things are a 404, conflicts a 409 and bad input a 422, each saying which field; an identical retry changes
nothing; a configuration reaches MongoDB, and the relay publishes it to Kafka and repairs a lost document."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import psycopg
import pytest
from app_keys import dev_headers
from fastapi.testclient import TestClient
from kafka import KafkaConsumer, TopicPartition

from ingest.core.relay import open_relay, relay_once
from ingest.core.storage import KIT_STORAGE
from ingest.iot.app import create_app
from ingest.iot.contract import CONTRACT, DEVICES_TOPIC
from ingest.iot.device_keys import key_matches
from ingest.iot.relay import open_relay_sources
from lakehouse.settings import Settings
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def iot_settings(stack_settings: Settings) -> Settings:
    apply_all(stack_settings, [KIT_STORAGE, CONTRACT.storage], progress=lambda line: None)
    return stack_settings


@pytest.fixture(scope="module")
def client(iot_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(iot_settings), headers=dev_headers("iot", **{"X-Actor": "tester"})) as test_client:
        yield test_client


@pytest.fixture
def fleet(client: TestClient, unique_name: str) -> dict[str, str]:
    """A site, a chiller model with firmware 1.0.0 and a pump model: this test's own."""
    ids = {"site": f"s-{unique_name}", "chiller": f"ch-{unique_name}", "pump": f"pu-{unique_name}"}
    assert client.post("/sites", json={"site_id": ids["site"], "name": "Plant", "timezone": "Europe/Berlin"}).is_success
    for model, sensor in (("chiller", "temperature"), ("pump", "vibration")):
        body = {"model_id": ids[model], "name": model, "sensors": [sensor], "sampling_seconds": 60}
        assert client.post("/device-models", json=body).status_code == 201
    assert client.post(f"/device-models/{ids['chiller']}/firmware", json={"version": "1.0.0"}).status_code == 201
    return ids


def register(client: TestClient, fleet: dict[str, str], device_id: str, model: str = "chiller", serial: str = ""):
    body = {"device_id": device_id, "serial": serial or f"SN-{device_id}", "model_id": fleet[model]}
    return client.post("/devices", json=body | {"site_id": fleet["site"], "owner_id": "u-000001"})


def key_hash(settings: Settings, device_id: str) -> str:
    with psycopg.connect(settings.postgres_url) as conn:
        return conn.execute("SELECT key_hash FROM iot.devices WHERE device_id = %s", (device_id,)).fetchone()[0]


def test_registration_answers_the_key_once_and_reads_never_show_it(client, fleet, iot_settings, unique_name) -> None:
    device_id = f"d-{unique_name}"
    first = register(client, fleet, device_id)
    again = register(client, fleet, device_id)
    assert (first.status_code, first.json()["outcome"]) == (201, "created")
    key = first.json()["device_key"]
    assert key and key_matches(key, key_hash(iot_settings, device_id))
    assert (again.status_code, again.json()["outcome"], again.json()["device_key"]) == (200, "unchanged", None)

    shown = client.get(f"/devices/{device_id}")
    assert shown.status_code == 200 and shown.json()["site_id"] == fleet["site"]
    assert key not in shown.text and "key_hash" not in shown.text and "hmac" not in shown.text
    listed = client.get(f"/sites/{fleet['site']}/devices").json()["devices"]
    assert [d["device_id"] for d in listed] == [device_id] and "key_hash" not in json.dumps(listed)


def test_a_rotated_key_replaces_the_old_one_and_a_retry_issues_no_other(client, fleet, iot_settings, unique_name):
    device_id = f"d-{unique_name}"
    old = register(client, fleet, device_id).json()["device_key"]
    rotated = client.post(f"/devices/{device_id}/key-rotations", json={"command_id": f"rot-{unique_name}"})
    retry = client.post(f"/devices/{device_id}/key-rotations", json={"command_id": f"rot-{unique_name}"})
    new = rotated.json()["device_key"]
    stored = key_hash(iot_settings, device_id)
    assert rotated.status_code == 200 and new != old and key_matches(new, stored) and not key_matches(old, stored)
    assert (retry.json()["outcome"], retry.json()["device_key"]) == ("unchanged", None)
    assert key_matches(new, key_hash(iot_settings, device_id))
    with psycopg.connect(iot_settings.postgres_url) as conn:
        audited = conn.execute(
            """SELECT action, actor, before ->> 'key_hash' <> after ->> 'key_hash' FROM iot.audit_log
            WHERE table_name = 'devices' AND row_key = %s ORDER BY audit_id""",
            (device_id,),
        ).fetchall()
    assert audited == [("INSERT", "tester", None), ("UPDATE", "tester", True)]  # the rotation, once, by whom


def test_unknown_things_are_404_naming_what(client, fleet, unique_name) -> None:
    body = {"device_id": f"d-{unique_name}", "serial": "x", "model_id": "nope", "site_id": fleet["site"]}
    missing_model = client.post("/devices", json=body | {"owner_id": "u-000001"})
    assert missing_model.status_code == 404 and "model_id" in missing_model.json()["detail"]
    missing_site = register(client, fleet | {"site": "no-such-site"}, f"d-{unique_name}")
    assert missing_site.status_code == 404 and "site_id" in missing_site.json()["detail"]
    for path in (f"/devices/x-{unique_name}", f"/sites/x-{unique_name}/devices", f"/devices/x-{unique_name}/alerts"):
        assert client.get(path).status_code == 404
    status = client.put(f"/devices/x-{unique_name}/status", json={"command_id": f"c-{unique_name}", "status": "active"})
    assert status.status_code == 404 and "device_id" in status.json()["detail"]


def test_conflicts_are_409_saying_why(client, fleet, unique_name) -> None:
    register(client, fleet, f"a-{unique_name}", serial=f"SN-{unique_name}")
    taken = register(client, fleet, f"b-{unique_name}", serial=f"SN-{unique_name}")
    assert taken.status_code == 409 and "serial" in taken.json()["detail"]
    moved = register(client, fleet, f"a-{unique_name}", model="pump", serial=f"SN-{unique_name}")
    assert moved.status_code == 409 and "different RegisterDevice" in moved.json()["detail"]

    register(client, fleet, f"p-{unique_name}", model="pump")
    rollout = {"command_id": f"r-{unique_name}", "device_ids": [f"a-{unique_name}", f"p-{unique_name}"]}
    wrong = client.post(f"/device-models/{fleet['chiller']}/firmware/1.0.0/rollouts", json=rollout)
    assert wrong.status_code == 409 and f"'p-{unique_name}' is a {fleet['pump']}" in wrong.json()["detail"]
    shown = client.get(f"/devices/a-{unique_name}").json()
    assert shown["firmware"] == {"version": None, "since": None}  # nothing of the refused rollout was written


def test_bad_input_is_422_naming_the_field(client, fleet, unique_name) -> None:
    bad_tz = client.post("/sites", json={"site_id": f"s2-{unique_name}", "name": "x", "timezone": "Mars/Base"})
    assert bad_tz.status_code == 422 and bad_tz.json()["detail"][0]["loc"][-1] == "timezone"
    register(client, fleet, f"d-{unique_name}")
    config = {"command_id": f"c-{unique_name}", "sampling_seconds": 60, "sensors": [{"sensor": "pressure"}]}
    foreign = client.put(f"/devices/d-{unique_name}/config", json=config)
    assert foreign.status_code == 422 and "sensors" in foreign.json()["detail"]
    no_actor = client.post("/sites", json={"site_id": "x", "name": "x", "timezone": "UTC"}, headers={"X-Actor": ""})
    assert no_actor.status_code == 422 and "X-Actor" in no_actor.text
    bad_version = client.post(f"/device-models/{fleet['chiller']}/firmware", json={"version": "one"})
    assert bad_version.status_code == 422 and bad_version.json()["detail"][0]["loc"][-1] == "version"


def test_a_rollout_installs_firmware_once_even_when_retried(client, fleet, iot_settings, unique_name) -> None:
    devices = [f"d{n}-{unique_name}" for n in range(3)]
    for device_id in devices:
        register(client, fleet, device_id)
    rollout = {"command_id": f"r-{unique_name}", "device_ids": devices}
    path = f"/device-models/{fleet['chiller']}/firmware/1.0.0/rollouts"
    first, retry = client.post(path, json=rollout), client.post(path, json=rollout)
    assert (first.status_code, first.json()["version"]) == (201, 3)
    assert (retry.status_code, retry.json()["outcome"], retry.json()["event_ids"]) == (200, "unchanged", [])
    reused = client.post(path, json=rollout | {"device_ids": devices[:1]})
    assert reused.status_code == 409 and "reusing its id" in reused.json()["detail"]
    shown = client.get(f"/devices/{devices[0]}").json()["firmware"]
    assert shown["version"] == "1.0.0" and shown["since"] is not None
    with psycopg.connect(iot_settings.postgres_url) as conn:
        installs = conn.execute(
            "SELECT count(*) FROM iot.firmware_installs WHERE device_id = ANY(%s)", (devices,)
        ).fetchone()[0]
        actors = conn.execute(
            "SELECT DISTINCT actor FROM iot.audit_log WHERE table_name = 'firmware_installs' AND row_key LIKE %s",
            (f"%{unique_name}%",),
        ).fetchall()
    assert installs == 3 and actors == [("tester",)]


def test_tickets_open_once_per_device_and_close(client, fleet, unique_name) -> None:
    device_id = f"d-{unique_name}"
    register(client, fleet, device_id)
    opened = client.post(f"/devices/{device_id}/tickets", json={"command_id": f"o-{unique_name}", "reason": "noisy"})
    second = client.post(f"/devices/{device_id}/tickets", json={"command_id": f"o2-{unique_name}", "reason": "again"})
    ticket_id = opened.json()["id"]
    assert (opened.status_code, ticket_id) == (201, f"t-{device_id}-1")
    assert second.status_code == 409 and ticket_id in second.json()["detail"]
    moved = client.patch(f"/tickets/{ticket_id}", json={"command_id": f"u1-{unique_name}", "status": "in_progress"})
    closed = client.patch(f"/tickets/{ticket_id}", json={"command_id": f"u2-{unique_name}", "status": "closed"})
    late = client.patch(f"/tickets/{ticket_id}", json={"command_id": f"u3-{unique_name}", "status": "open"})
    assert (moved.status_code, closed.status_code, late.status_code) == (200, 200, 409)
    (ticket,) = client.get(f"/devices/{device_id}/tickets").json()["tickets"]
    assert (ticket["status"], ticket["closed_at"] is not None) == ("closed", True)


def end_offsets(settings: Settings, topic: str) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
    try:
        return consumer.end_offsets([TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)])
    finally:
        consumer.close()


def published(settings: Settings, topic: str, since: dict[TopicPartition, int], key: str) -> list[dict]:
    """The envelopes keyed by ``key`` written to ``topic`` after ``since``, duplicates included."""
    until = end_offsets(settings, topic)
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False)
    found: list[dict] = []
    try:
        consumer.assign(list(until))
        for partition in until:
            consumer.seek(partition, since.get(partition, 0))
        deadline = time.monotonic() + 60
        while any(consumer.position(p) < end for p, end in until.items()) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=1000).values():
                found += [json.loads(r.value) for r in records if r.key.decode() == key]
    finally:
        consumer.close()
    return found


def relay_until_sent(settings: Settings, event_ids: list[str]) -> None:
    """Relay passes until ``event_ids`` are sent (other tests' rows may wait in the outbox before them)."""
    with open_relay(settings, open_relay_sources) as (sources, producer):
        for _ in range(100):
            with sources.pool.connection() as conn:
                unsent = conn.execute(
                    "SELECT count(*) FROM iot.outbox WHERE event_id::text = ANY(%s) AND sent_at IS NULL", (event_ids,)
                ).fetchone()[0]
            if unsent == 0:
                return
            relay_once(sources, producer)
    raise AssertionError("iot outbox rows still unsent after 100 relay passes")


def test_a_configuration_reaches_mongo_and_kafka_and_the_relay_repairs_a_lost_document(
    client, fleet, iot_settings, unique_name
) -> None:
    device_id = f"d-{unique_name}"
    register(client, fleet, device_id)
    since = end_offsets(iot_settings, DEVICES_TOPIC)
    sensors = [{"sensor": "temperature", "offset": 0.5, "scale": 1.01, "low": 2.0, "high": 9.0}]
    body = {"command_id": f"c1-{unique_name}", "sampling_seconds": 120, "sensors": sensors}
    first = client.put(f"/devices/{device_id}/config", json=body)
    second = client.put(f"/devices/{device_id}/config", json=body | {"command_id": f"c2-{unique_name}"})
    assert (first.json()["version"], second.json()["version"]) == (1, 2)
    config = client.get(f"/devices/{device_id}").json()["config"]
    assert config["config_version"] == 2 and config["sensors"]["temperature"]["high"] == 9.0

    configs = client.app.state.ctx.configs
    configs.collection.delete_one({"_id": device_id})  # the app died between its commit and its document write
    relay_until_sent(iot_settings, first.json()["event_ids"] + second.json()["event_ids"])
    restored = configs.find(device_id)
    assert restored["config_version"] == 2 and restored["sampling_seconds"] == 120
    on_kafka = [
        e for e in published(iot_settings, DEVICES_TOPIC, since, device_id) if e["type"] == "iot.device.configured"
    ]
    assert sorted(e["payload"]["config_version"] for e in on_kafka) == [1, 2]
    assert {e["event_id"] for e in on_kafka} == set(first.json()["event_ids"] + second.json()["event_ids"])


def test_a_seeded_fleet_registers_once_and_a_rerun_adds_nothing(iot_settings) -> None:
    from ingest.iot.fleet import generate_fleet
    from ingest.iot.registry import rotate_device_key

    seed = int(time.time_ns() % 10**9)  # a seed no earlier run used
    first = generate_fleet(iot_settings, devices=6, seed=seed, sites=2)
    with psycopg.connect(iot_settings.postgres_url) as conn:
        outbox_rows = "SELECT count(*) FROM iot.outbox WHERE message_key LIKE %s"
        before = conn.execute(outbox_rows, (f"dev-{seed}-%",)).fetchone()[0]
    again = generate_fleet(iot_settings, devices=6, seed=seed, sites=2)
    assert [d.device_id for d in first] == [d.device_id for d in again] == [f"dev-{seed}-{n}" for n in range(1, 7)]
    assert all(d.key for d in first) and all(d.key is None for d in again)
    with psycopg.connect(iot_settings.postgres_url) as conn:
        assert conn.execute(outbox_rows, (f"dev-{seed}-%",)).fetchone()[0] == before
        stored = dict(
            conn.execute("SELECT device_id, key_hash FROM iot.devices WHERE device_id LIKE %s", (f"dev-{seed}-%",))
        )
        versions = conn.execute(
            "SELECT firmware_version, count(*) FROM iot.devices WHERE device_id LIKE %s GROUP BY 1 ORDER BY 1",
            (f"dev-{seed}-%",),
        ).fetchall()
        fresh = rotate_device_key(conn, device_id=first[0].device_id, actor="test")
        assert key_matches(
            fresh,
            conn.execute("SELECT key_hash FROM iot.devices WHERE device_id = %s", (first[0].device_id,)).fetchone()[0],
        )
    assert all(key_matches(d.key, stored[d.device_id]) for d in first)
    assert sum(count for _, count in versions) == 6 and {v for v, _ in versions} <= {"1.0.0", "1.1.0"}
    with TestClient(create_app(iot_settings), headers=dev_headers("iot")) as reader:
        shown = reader.get(f"/devices/{first[0].device_id}").json()
    assert shown["config"]["config_version"] == 1 and shown["config"]["sampling_seconds"] == first[0].sampling_seconds
    assert shown["owner_id"] == first[0].owner_id and shown["firmware"]["version"] in {"1.0.0", "1.1.0"}


def test_a_devices_alerts_and_the_ticket_they_opened_are_listed(client, fleet, iot_settings, unique_name) -> None:
    from datetime import UTC, datetime

    from ingest.iot.alerts import AlertInput, record_alert

    device_id = f"d-{unique_name}"
    register(client, fleet, device_id)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    with psycopg.connect(iot_settings.postgres_url) as conn:
        recorded = record_alert(
            conn, AlertInput(device_id, "temperature", f"{device_id}/temperature/s1", at, 99.5, 0.93, "3"), actor="t"
        )
    (shown,) = client.get(f"/devices/{device_id}/alerts").json()["alerts"]
    (ticket,) = client.get(f"/devices/{device_id}/tickets").json()["tickets"]
    assert (shown["alert_id"], shown["value"], shown["ticket_id"]) == (recorded.alert_id, 99.5, recorded.ticket_id)
    assert (ticket["ticket_id"], ticket["status"], ticket["alert_count"]) == (recorded.ticket_id, "open", 1)
    assert "temperature" in ticket["reason"] and "99.5" in ticket["reason"]
