"""What the gateway accepts: each rule refuses the batch as a whole with every bad reading named by index; an
accepted batch gets fixed reading ids, a batch id that repeats on a retry, and chunks of at most 1,000 readings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from ingest.iot.contract import TelemetryBatchV1
from ingest.iot.telemetry_batches import AcceptedBatch, BatchRefused, accept_batch, chunks, parse_ts
from ingest.iot.telemetry_io import encode_batch, parse_telemetry_message

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SENSORS = frozenset({"temperature", "vibration"})


def accept(body: object, max_batch: int = 100) -> AcceptedBatch:
    return accept_batch("dev-1", body, accepted_at=NOW, max_batch=max_batch, sensors=SENSORS)


def refusal(body: object, max_batch: int = 100) -> BatchRefused:
    with pytest.raises(BatchRefused) as refused:
        accept(body, max_batch)
    return refused.value


def test_a_good_batch_keeps_its_readings_with_ids_from_device_sensor_and_seq_or_time() -> None:
    body = {
        "batch_id": "b-1",
        "readings": [
            {"sensor": "temperature", "ts": "2026-03-01T11:00:00Z", "value": 21, "seq": 7},
            {"sensor": "vibration", "ts": "2026-03-01T11:00:00.5", "value": 0.25},  # no offset: UTC
        ],
    }
    batch = accept(body)
    assert batch.batch_id == "b-1"
    assert batch.readings == [
        {
            "reading_id": "dev-1/temperature/s7",
            "sensor": "temperature",
            "ts": "2026-03-01T11:00:00Z",
            "value": 21.0,
            "seq": 7,
        },
        {
            "reading_id": f"dev-1/vibration/t{int(datetime(2026, 3, 1, 11, 0, 0, 500000, tzinfo=UTC).timestamp() * 1e6)}",
            "sensor": "vibration",
            "ts": "2026-03-01T11:00:00.500000Z",
            "value": 0.25,
            "seq": None,
        },
    ]


def test_every_bad_reading_is_listed_by_index_and_nothing_is_accepted() -> None:
    future = (NOW + timedelta(minutes=6)).isoformat()
    readings = [
        {"sensor": "temperature", "ts": "2026-03-01T11:00:00Z", "value": 1.0},  # good
        {"sensor": "pressure", "ts": "2026-03-01T11:00:00Z", "value": 1.0},
        {"sensor": "temperature", "ts": future, "value": 1.0},
        {"sensor": "temperature", "ts": "1969-12-31T23:59:59Z", "value": 1.0},
        {"sensor": "temperature", "ts": "yesterday", "value": 1.0},
        {"sensor": "temperature", "ts": "2026-03-01T11:00:00Z", "value": "hot"},
        {"sensor": "temperature", "ts": "2026-03-01T11:00:00Z", "value": True},
        {"sensor": "temperature", "ts": "2026-03-01T11:00:00Z", "value": 1.0, "seq": -1},
        {"sensor": "temperature", "ts": "2026-03-01T11:00:00Z", "value": 1.0, "colour": "red"},
        "not a reading",
    ]
    problems = refusal({"readings": readings}).problems
    assert [p.split(":")[0] for p in problems] == [f"readings[{i}]" for i in range(1, 10)]
    for index, words in [(1, "not one of this device model's sensors"), (2, "in the future"), (3, "before the epoch")]:
        assert words in problems[index - 1]
    assert "not a valid timestamp" in problems[3] and "not a number" in problems[4] and "not a number" in problems[5]
    assert "seq" in problems[6] and "colour" in problems[7] and "expected an object" in problems[8]


def test_one_reading_twice_in_a_batch_is_refused_naming_the_first() -> None:
    twice = [{"sensor": "temperature", "ts": 1_700_000_000 + i, "value": 1.0, "seq": 5} for i in range(2)]
    assert refusal({"readings": twice}).problems == (
        "readings[1]: repeats readings[0] (reading id dev-1/temperature/s5)",
    )


def test_nan_and_infinity_are_refused_as_not_finite() -> None:
    body = json.loads(
        '{"readings": [{"sensor": "temperature", "ts": 1700000000, "value": NaN},'
        '{"sensor": "temperature", "ts": 1700000000, "value": -Infinity}]}'
    )
    assert [p.endswith("is not finite") for p in refusal(body).problems] == [True, True]


def test_a_little_clock_skew_is_tolerated_and_past_readings_are_welcome() -> None:
    readings = [
        {"sensor": "temperature", "ts": (NOW + timedelta(minutes=4)).isoformat(), "value": 1.0},
        {"sensor": "temperature", "ts": "2014-01-01T00:00:00Z", "value": 1.0},
        {"sensor": "temperature", "ts": 0, "value": 1.0},  # epoch seconds
    ]
    assert len(accept({"readings": readings}).readings) == 3


def test_too_many_readings_is_413_and_a_malformed_body_is_422() -> None:
    reading = {"sensor": "temperature", "ts": "2026-03-01T11:00:00Z", "value": 1.0}
    too_many = refusal({"readings": [reading] * 11}, max_batch=10)
    assert too_many.status == 413 and "11 readings, at most 10" in too_many.problems[0]
    for body, words in [
        ([reading], "expected an object"),
        ({"readings": []}, "non-empty list"),
        ({"readings": [reading], "device": "x"}, "unknown field(s) device"),
        ({"readings": [reading], "batch_id": "has spaces"}, "batch_id"),
    ]:
        refused = refusal(body)
        assert refused.status == 422 and words in refused.problems[0]


def test_without_a_sensor_list_any_well_formed_sensor_name_passes() -> None:
    body = {"readings": [{"sensor": "anything_9", "ts": 1, "value": 1}, {"sensor": "Bad-Name", "ts": 1, "value": 1}]}
    with pytest.raises(BatchRefused) as refused:
        accept_batch("dev-1", body, accepted_at=NOW, max_batch=10, sensors=None)
    assert [p.split(":")[0] for p in refused.value.problems] == ["readings[1]"]


def test_without_a_client_batch_id_the_same_readings_get_the_same_id_and_others_another() -> None:
    readings = [{"sensor": "temperature", "ts": 1_700_000_000 + i, "value": i / 3} for i in range(5)]
    first, retry = accept({"readings": readings}), accept({"readings": [dict(r) for r in readings]})
    assert first.batch_id == retry.batch_id and first.batch_id.startswith("h-")
    changed = readings[:4] + [{**readings[4], "value": 99.0}]
    assert accept({"readings": changed}).batch_id != first.batch_id
    other_device = accept_batch("dev-2", {"readings": readings}, accepted_at=NOW, max_batch=10, sensors=SENSORS)
    assert other_device.batch_id != first.batch_id


def test_a_big_batch_goes_as_chunks_with_derived_ids_and_a_small_one_whole() -> None:
    readings = [{"reading_id": f"r{i}"} for i in range(2500)]
    parts = list(chunks(AcceptedBatch("b", readings), size=1000))
    assert [(chunk_id, len(rs)) for chunk_id, rs in parts] == [("b/0", 1000), ("b/1", 1000), ("b/2", 500)]
    assert [r for _, rs in parts for r in rs] == readings
    assert list(chunks(AcceptedBatch("b", readings[:1000]), size=1000)) == [("b", readings[:1000])]


def test_an_accepted_batch_encodes_to_a_message_the_contract_parses_back() -> None:
    batch = accept({"readings": [{"sensor": "temperature", "ts": "2026-03-01T11:00:00+01:00", "value": 2.5, "seq": 3}]})
    parsed = parse_telemetry_message(encode_batch(batch.batch_id, "dev-1", NOW, batch.readings))
    assert isinstance(parsed, TelemetryBatchV1) and parsed.device_id == "dev-1" and parsed.accepted_at == NOW
    assert parsed.readings[0].ts == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert parsed.readings[0].reading_id == "dev-1/temperature/s3" and parsed.readings[0].value == 2.5


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"{not json", "not JSON"),
        (b"[1]", "not an envelope"),
        (b'{"type": "iot.device.registered", "version": 1, "payload": {}}', "not a telemetry batch"),
        (b'{"type": "iot.telemetry.batch", "version": 1, "payload": {"batch_id": "b"}}', "invalid payload"),
    ],
)
def test_a_malformed_message_is_a_value_error_naming_the_problem(raw: bytes, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_telemetry_message(raw)


def test_timestamps_parse_from_iso_text_or_epoch_seconds() -> None:
    assert parse_ts("2026-03-01T12:00:00+02:00") == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert parse_ts(86400.5) == datetime(1970, 1, 2, 0, 0, 0, 500000, tzinfo=UTC)
    assert "not an ISO 8601" in parse_ts(None)
