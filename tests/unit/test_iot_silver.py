"""IoT silver on hand-built bronze rows: a batch explodes into readings, bad envelopes and readings are quarantined
with their reason, retried batches add nothing, late readings are kept and flagged, and devices and tickets show
their newest status whatever order the events arrive in."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from local_lake import local_lake
from pyspark.sql import DataFrame, SparkSession

from ingest.core.envelope import EventEnvelope
from ingest.iot import contract as ev
from pipelines.core.expectations import validate_silver
from pipelines.core.incremental import run_silver_flow
from pipelines.core.tables import DomainLake
from pipelines.iot.expectations import SILVER_EXPECTATIONS
from pipelines.iot.flows import FLOWS

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
BRONZE = "key string, value string, topic string, partition int, offset long, kafka_timestamp timestamp, ingested_at timestamp"


def envelope(event: tuple[str, int], payload: dict, key: str = "d1", event_id: str | None = None) -> str:
    extra = {"event_id": event_id} if event_id else {}
    built = EventEnvelope(
        type=event[0], version=event[1], key=key, payload=payload, occurred_at=T0.isoformat(), **extra
    )
    return built.to_json().decode()


def batch(batch_id: str, device: str, readings: list[tuple[str, datetime, float, int]], accepted: datetime = T0) -> str:
    """A telemetry batch envelope; readings are (sensor, ts, value, seq)."""
    model = ev.TelemetryBatchV1(
        batch_id=batch_id,
        device_id=device,
        accepted_at=accepted,
        readings=[
            ev.ReadingV1(reading_id=ev.reading_id(device, sensor, ts, seq), sensor=sensor, ts=ts, value=value, seq=seq)
            for sensor, ts, value, seq in readings
        ],
    )
    return envelope(ev.TELEMETRY_BATCH, model.model_dump(mode="json"), key=device, event_id=batch_id)


@pytest.fixture
def lake(tmp_path) -> DomainLake:
    return local_lake("iot", tmp_path)


def land(spark: SparkSession, lake: DomainLake, entity: str, values: list[str], first_offset: int = 0) -> None:
    topic = ev.CONTRACT.entities[entity]
    rows = [(None, value, topic, 0, first_offset + i, T0, T0) for i, value in enumerate(values)]
    spark.createDataFrame(rows, BRONZE).write.format("delta").mode("append").save(lake.bronze(entity))


def read(spark: SparkSession, path: str) -> DataFrame:
    return spark.read.format("delta").load(path)


def test_a_batch_becomes_one_row_per_reading_with_its_batch_and_day(spark, lake) -> None:
    ts = T0 - timedelta(seconds=30)
    land(spark, lake, "telemetry", [batch("b1", "d1", [("temp", ts, 21.5, 1), ("vib", ts, 0.3, 2)])])
    report = run_silver_flow(spark, FLOWS["telemetry"], lake)
    rows = {r.sensor: r.asDict() for r in read(spark, lake.silver("readings")).collect()}
    assert set(rows) == {"temp", "vib"} and report.merged["readings"] == 2
    temp = rows["temp"]
    assert (temp["device_id"], temp["reading_id"], temp["value"], temp["seq"]) == ("d1", "d1/temp/s1", 21.5, 1)
    assert (temp["batch_id"], str(temp["day"]), temp["late"]) == ("b1", "2026-03-01", False)
    assert temp["ts"].replace(tzinfo=UTC) == ts and temp["accepted_at"].replace(tzinfo=UTC) == T0


def test_a_retried_batch_and_a_rerun_add_no_reading(spark, lake) -> None:
    first = batch("b1", "d1", [("temp", T0, 1.0, 1), ("temp", T0 + timedelta(seconds=1), 2.0, 2)])
    # The client retried with a new batch id but the same readings, plus one new reading.
    retry = batch("b2", "d1", [("temp", T0, 1.0, 1), ("temp", T0 + timedelta(seconds=2), 3.0, 3)])
    land(spark, lake, "telemetry", [first, first])
    land(spark, lake, "telemetry", [retry], first_offset=2)
    report = run_silver_flow(spark, FLOWS["telemetry"], lake)
    again = run_silver_flow(spark, FLOWS["telemetry"], lake)
    ids = [r.reading_id for r in read(spark, lake.silver("readings")).collect()]
    assert sorted(ids) == ["d1/temp/s1", "d1/temp/s2", "d1/temp/s3"]
    assert (report.offered["readings"], report.merged["readings"]) == (6, 3)  # 3 duplicates dropped
    assert again.merged["readings"] == 0 and again.offered["readings"] == 0


def test_readings_measured_before_the_watermark_are_kept_and_flagged_late(spark, lake) -> None:
    on_time = T0 - timedelta(minutes=9)
    late = T0 - timedelta(minutes=11)
    land(spark, lake, "telemetry", [batch("b1", "d1", [("temp", on_time, 1.0, 1), ("temp", late, 2.0, 2)])])
    report = run_silver_flow(spark, FLOWS["telemetry"], lake)
    flags = {r.seq: r.late for r in read(spark, lake.silver("readings")).collect()}
    assert flags == {1: False, 2: True}
    assert report.flagged[("readings", "late")] == 1


def test_malformed_envelopes_and_readings_are_quarantined_with_their_reason(spark, lake) -> None:
    good = batch("b1", "d1", [("temp", T0, 1.0, 1)])
    bad_sensor = json.loads(batch("b2", "d2", [("temp", T0, 1.0, 1)]))
    bad_sensor["payload"]["readings"][0]["sensor"] = "Temp!"
    no_value = json.loads(batch("b3", "d3", [("temp", T0, 1.0, 1)]))
    del no_value["payload"]["readings"][0]["value"]
    no_device = json.loads(batch("b4", "d4", [("temp", T0, 1.0, 1)]))
    del no_device["payload"]["device_id"]
    status = envelope(
        ev.DEVICE_STATUS_CHANGED, {"device_id": "d1", "status": "active", "reason": "", "changed_at": T0.isoformat()}
    )
    values = [good, json.dumps(bad_sensor), json.dumps(no_value), json.dumps(no_device), "{oops", status]
    land(spark, lake, "telemetry", values)
    report = run_silver_flow(spark, FLOWS["telemetry"], lake)
    reasons = {r.offset: r.reason for r in read(spark, lake.quarantine()).collect()}
    assert reasons == {
        1: f"payload.readings[].sensor must match {ev.SENSOR}",
        2: "missing required field payload.readings[].value",
        3: "missing required field payload.device_id",
        4: "invalid JSON",
        5: "event type iot.device.status_changed v1 does not belong on this topic",
    }
    assert report.quarantined == 5 and [r.device_id for r in read(spark, lake.silver("readings")).collect()] == ["d1"]


def test_scores_keep_the_newest_scoring_of_each_reading(spark, lake) -> None:
    def scores(version: str, at: datetime, score: float) -> str:
        model = ev.ScoresBatchV1(
            device_id="d1",
            sensor="temp",
            model_version=version,
            scored_at=at,
            scores=[
                ev.ReadingScoreV1(reading_id="d1/temp/s1", ts=T0, value=1.0, anomaly_score=score, alert=score > 0.9)
            ],
        )
        return envelope(ev.SCORES_BATCH, model.model_dump(mode="json"))

    land(spark, lake, "scores", [scores("2", T0 + timedelta(minutes=5), 0.95), scores("1", T0, 0.2)])
    run_silver_flow(spark, FLOWS["scores"], lake)
    (row,) = read(spark, lake.silver("reading_scores")).collect()
    assert (row.reading_id, row.model_version, row.anomaly_score, row.alert) == ("d1/temp/s1", "2", 0.95, True)


def _registered(device: str) -> str:
    payload = ev.DeviceRegisteredV1(
        device_id=device, serial=f"sn-{device}", model_id="m1", site_id="s1", owner_id="u1", registered_at=T0
    )
    return envelope(ev.DEVICE_REGISTERED, payload.model_dump(mode="json"), key=device)


def _status(device: str, status: str, minutes: int) -> str:
    at = (T0 + timedelta(minutes=minutes)).isoformat()
    return envelope(ev.DEVICE_STATUS_CHANGED, {"device_id": device, "status": status, "reason": "r", "changed_at": at})


def test_devices_show_their_newest_status_whatever_the_order(spark, lake) -> None:
    # d2's status change is processed a run before its registration (e.g. replayed from quarantine).
    land(spark, lake, "devices", [_registered("d1"), _status("d1", "maintenance", 2), _status("d1", "active", 1)])
    land(spark, lake, "devices", [_status("d2", "retired", 3)], first_offset=3)
    run_silver_flow(spark, FLOWS["devices"], lake)
    land(spark, lake, "devices", [_registered("d2"), _registered("d3")], first_offset=4)
    run_silver_flow(spark, FLOWS["devices"], lake)
    state = {r.device_id: (r.status, r.status_reason) for r in read(spark, lake.silver("devices")).collect()}
    assert state == {"d1": ("maintenance", "r"), "d2": ("retired", "r"), "d3": ("provisioned", None)}
    assert read(spark, lake.silver("device_status_changes")).count() == 3
    devices = read(spark, lake.silver("devices"))
    assert validate_silver(devices, "devices", SILVER_EXPECTATIONS["devices"]).success


def test_tickets_show_their_newest_update(spark, lake) -> None:
    opened = {"ticket_id": "k1", "device_id": "d1", "reason": "alert", "alert_id": "a1", "opened_at": T0.isoformat()}

    def updated(status: str, count: int, minutes: int) -> str:
        at = (T0 + timedelta(minutes=minutes)).isoformat()
        payload = {"ticket_id": "k1", "device_id": "d1", "status": status, "alert_count": count, "note": status}
        return envelope(ev.TICKET_UPDATED, payload | {"updated_by": "u9", "updated_at": at})

    land(spark, lake, "tickets", [envelope(ev.TICKET_OPENED, opened), updated("closed", 3, 9), updated("open", 2, 5)])
    run_silver_flow(spark, FLOWS["tickets"], lake)
    (ticket,) = read(spark, lake.silver("tickets")).collect()
    assert (ticket.status, ticket.alert_count, ticket.note, ticket.alert_id) == ("closed", 3, "closed", "a1")
