"""IoT end to end on the real stack, via Dagster: registry events and telemetry batches (this test's own topics)
→ bronze → silver (quarantine, checks) → gold. A retried batch adds no reading, a malformed one is quarantined with
its reason, and gold's counts match what was produced (computed here, independently of the Spark code)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from dagster import materialize
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from assets.core.domain import domain_assets
from assets.iot import descriptions
from assets.iot.stream import telemetry_stream_asset
from assets.resources import LakehouseResource
from ingest.core.envelope import EventEnvelope
from ingest.iot import contract as ev
from ingest.iot.telemetry_io import encode_model
from ingest.iot.telemetry_producer import open_telemetry_producer, produce_batch
from pipelines.iot.flows import STREAMED
from pipelines.iot.lakehouse import LAKEHOUSE

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
SENSORS = ("temp", "vib")


def registry_events(prefix: str) -> list[tuple[tuple[str, int], str, dict]]:
    """(event, key, payload): one site, one model (two sensors, 60 s), two devices; d0 upgraded at 10:30."""
    model = f"{prefix}-m"
    events = [
        (ev.SITE_REGISTERED, "s", {"site_id": f"{prefix}-s", "name": "plant", "timezone": "UTC", "registered_at": T0}),
        (
            ev.DEVICE_MODEL_REGISTERED,
            model,
            {"model_id": model, "name": "pump", "sensors": list(SENSORS), "sampling_seconds": 60, "registered_at": T0},
        ),
        (ev.FIRMWARE_RELEASED, model, {"model_id": model, "version": "1.1.0", "notes": "", "released_at": T0}),
    ]
    for n in range(2):
        device = f"{prefix}-d{n}"
        registered = {"device_id": device, "serial": f"sn-{device}", "model_id": model, "site_id": f"{prefix}-s"}
        events.append(
            (ev.DEVICE_REGISTERED, device, registered | {"owner_id": "u1", "registered_at": T0 - timedelta(days=1)})
        )
    install = {"device_id": f"{prefix}-d0", "model_id": model, "version": "1.1.0", "previous_version": "1.0.0"}
    events.append(
        (
            ev.FIRMWARE_INSTALLED,
            f"{prefix}-d0",
            install | {"rollout_id": "r1", "installed_at": T0 + timedelta(minutes=30)},
        )
    )
    return events


def telemetry_batches(prefix: str) -> list[ev.TelemetryBatchV1]:
    """Each device sends both sensors every minute for an hour, in batches of ten minutes."""
    batches = []
    for n in range(2):
        device = f"{prefix}-d{n}"
        for start in range(0, 60, 10):
            readings = [
                ev.ReadingV1(
                    reading_id=ev.reading_id(device, s, ts, None), sensor=s, ts=ts, value=float(m + n), seq=None
                )
                for m in range(start, start + 10)
                for s in SENSORS
                for ts in [T0 + timedelta(minutes=m)]
            ]
            accepted = T0 + timedelta(minutes=start + 10)
            batches.append(
                ev.TelemetryBatchV1(
                    batch_id=f"{device}-{start}", device_id=device, accepted_at=accepted, readings=readings
                )
            )
    return batches


def test_registry_and_telemetry_flow_to_gold_exactly_once(stack_settings, spark, tmp_path, unique_name) -> None:
    servers = stack_settings.kafka_bootstrap_servers
    topics = {entity: f"{unique_name}.{entity}" for entity in LAKEHOUSE.contract.entities}
    admin = KafkaAdminClient(bootstrap_servers=servers)
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1) for topic in topics.values()])
    admin.close()
    entity_of = {topic: entity for entity, topic in LAKEHOUSE.contract.entities.items()}

    plain = KafkaProducer(bootstrap_servers=servers, acks="all")
    for event, key, payload in registry_events(unique_name):
        body = json.loads(json.dumps(payload, default=lambda at: at.isoformat()))
        envelope = EventEnvelope(type=event[0], version=event[1], key=key, payload=body, occurred_at=T0.isoformat())
        plain.send(topics[entity_of[ev.EVENT_SCHEMAS[event][1]]], key=key.encode(), value=envelope.to_json())
    bad_reading = json.loads(encode_model(telemetry_batches(unique_name)[0]))
    bad_reading["payload"]["readings"][0]["sensor"] = "Temp!"  # the whole batch waits in quarantine, not just it
    plain.send(topics["telemetry"], key=b"x", value=json.dumps(bad_reading).encode())
    plain.send(topics["telemetry"], key=b"x", value=json.dumps({"type": ev.TELEMETRY_BATCH[0]}).encode())
    plain.flush()
    plain.close()
    batches = telemetry_batches(unique_name)
    producer = open_telemetry_producer(stack_settings)
    for batch in [*batches, batches[3], batches[7]]:  # two batches retried by their devices
        produce_batch(producer, batch, topics["telemetry"])
    producer.close()

    built = domain_assets(LAKEHOUSE, descriptions.SILVER, descriptions.GOLD, topics, streamed=STREAMED)
    stream = telemetry_stream_asset({entity: topics[entity] for entity in STREAMED})
    settings = stack_settings.model_copy(update={"lake_root": str(tmp_path)})
    result = materialize(
        [*built.assets, stream, *built.checks], resources={"lakehouse": LakehouseResource.from_settings(settings)}
    )
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    materialized = {e.asset_key.path[-1]: e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert materialized["readings"]["duplicates_dropped_this_run"].value == 40
    assert materialized["readings"]["rows_in_this_run"].value == 280

    def table(layer: str, name: str):
        return spark.read.format("delta").load(str(tmp_path / layer / f"iot_{name}"))

    produced = [r.reading_id for b in batches for r in b.readings]
    silver = [r.reading_id for r in table("silver", "readings").collect()]
    assert sorted(silver) == sorted(produced) and len(silver) == 240
    reasons = sorted(r.reason for r in table("quarantine", "events").collect())
    assert reasons == ["missing required field event_id", f"payload.readings[].sensor must match {ev.SENSOR}"]

    minutes = table("gold", "device_minute_stats").collect()
    assert len(minutes) == 2 * 2 * 60 and {r.readings for r in minutes} == {1}
    health = table("gold", "fleet_health_daily").collect()
    assert [(r.devices_reporting, r.readings, r.expected_readings) for r in health] == [(2, 240, 2 * 2 * 1440.0)]
    firmware = {(r.firmware_version, r.sensor): r for r in table("gold", "firmware_comparison").collect()}
    # d0 ran 1.1.0 from 10:30 (30 minutes of both sensors); everything else is from before any known install.
    expected = Counter({("1.1.0", s): 30 for s in SENSORS}) + Counter({("unknown", s): 90 for s in SENSORS})
    assert {key: row.readings for key, row in firmware.items()} == dict(expected)
    assert firmware[("1.1.0", "temp")].mean_value == pytest.approx(sum(range(30, 60)) / 30)
    (device,) = [r for r in table("silver", "devices").collect() if r.device_id == f"{unique_name}-d0"]
    assert (device.status, device.site_id) == ("provisioned", f"{unique_name}-s")
