"""The IoT registry's pure parts: device keys and their hashes, command fingerprints and validation, alert and
ticket ids, the configuration document an event leaves behind, and the seeded fleet's layout."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from ingest.core.errors import InvalidCommand
from ingest.core.idempotency import fingerprint
from ingest.iot.alerts import ALERT_NAMESPACE, AlertInput, alert_id_for, check_alert
from ingest.iot.commands import ConfigureDevice, CreateDeviceModel, CreateSite, RegisterDevice, SensorCalibration
from ingest.iot.config_docs import config_document
from ingest.iot.device_keys import LABEL, hash_device_key, key_matches, new_device_key
from ingest.iot.fleet import MODELS, fleet_layout
from ingest.iot.tickets import next_ticket_id


def test_a_device_key_is_32_random_bytes_stored_as_a_keyed_hash() -> None:
    key = new_device_key()
    assert len(key) == 43 and key != new_device_key()  # 32 bytes, urlsafe base64 without padding
    expected = "hmac-sha256:" + hmac.new(LABEL, key.encode(), hashlib.sha256).hexdigest()
    assert hash_device_key(key) == expected and key not in hash_device_key(key)


def test_a_key_matches_only_its_own_hash() -> None:
    key, other = new_device_key(), new_device_key()
    assert key_matches(key, hash_device_key(key))
    assert not key_matches(other, hash_device_key(key))
    assert not key_matches(key, "hmac-sha256:" + "0" * 64)


def test_the_same_registration_has_the_same_fingerprint_and_any_change_another() -> None:
    command = RegisterDevice(device_id="d1", serial="S1", model_id="m", site_id="s", owner_id="u-000001")
    again = RegisterDevice(device_id="d1", serial="S1", model_id="m", site_id="s", owner_id="u-000001")
    moved = RegisterDevice(device_id="d1", serial="S1", model_id="m", site_id="s2", owner_id="u-000001")
    assert fingerprint(command) == fingerprint(again) != fingerprint(moved)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: CreateSite(site_id="s", name="Plant", timezone="Mars/Olympus"), "timezone"),
        (lambda: CreateDeviceModel(model_id="m", name="M", sensors=["Temp"], sampling_seconds=60), "sensors"),
        (lambda: CreateDeviceModel(model_id="m", name="M", sensors=["a", "a"], sampling_seconds=60), "sensors"),
        (lambda: CreateDeviceModel(model_id="m", name="M", sensors=["a"], sampling_seconds=0), "sampling_seconds"),
        (
            lambda: ConfigureDevice(
                command_id="c",
                device_id="d",
                sampling_seconds=60,
                sensors=[SensorCalibration(sensor="t", low=5, high=1)],
            ),
            "sensors",
        ),
    ],
)
def test_bad_commands_are_refused_naming_the_field(build, field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        build()
    assert refused.value.errors()[0]["loc"][0] == field


def test_an_alert_id_is_a_function_of_the_reading_alone() -> None:
    assert alert_id_for("d/t/s1") == alert_id_for("d/t/s1") == str(uuid.uuid5(ALERT_NAMESPACE, "d/t/s1"))
    assert alert_id_for("d/t/s1") != alert_id_for("d/t/s2")


def test_an_alert_with_an_impossible_value_or_score_is_refused() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidCommand, match="value"):
        check_alert(AlertInput("d", "t", "d/t/s1", at, float("nan"), 0.9, "v1"))
    with pytest.raises(InvalidCommand, match="anomaly_score"):
        check_alert(AlertInput("d", "t", "d/t/s1", at, 1.0, 1.5, "v1"))
    check_alert(AlertInput("d", "t", "d/t/s1", at, 1.0, 0.99, "v1"))


def test_tickets_are_numbered_per_device_and_always_fit_their_column() -> None:
    assert next_ticket_id("dev-42-7", 3) == "t-dev-42-7-3"
    long_id = next_ticket_id("d" * 64, 1)
    assert len(long_id) <= 64 and long_id.startswith("t-") and long_id != next_ticket_id("d" * 64, 1)


def test_a_configuration_event_leaves_a_document_keyed_by_device_and_version() -> None:
    payload = {
        "device_id": "d1",
        "config_version": 3,
        "sampling_seconds": 120,
        "sensors": [{"sensor": "temperature", "offset": 0.5, "scale": 1.0, "low": 2.0, "high": 9.0}],
        "configured_by": "ops",
        "configured_at": "2026-01-01T00:00:00Z",
    }
    document = config_document("iot.device.configured", payload)
    assert document["_id"] == "d1" and document["config_version"] == 3
    assert document["sensors"] == {"temperature": {"offset": 0.5, "scale": 1.0, "low": 2.0, "high": 9.0}}
    assert config_document("iot.device.registered", payload) is None


def test_a_fleet_layout_depends_on_the_seed_and_each_device_on_its_number_alone() -> None:
    small, large = fleet_layout(devices=5, seed=7), fleet_layout(devices=50, seed=7)
    assert small == large[:5] and small != fleet_layout(devices=5, seed=8)
    assert [device.device_id for device in small] == [f"dev-7-{n}" for n in range(1, 6)]
    models = {model.model_id: model for model in MODELS}
    for device in large:
        assert device.owner_id.startswith("u-") and 1 <= int(device.owner_id[2:]) <= 200
        assert device.sensors == (models[device.model_id].sensor,) and 60 <= device.sampling_seconds <= 300
        assert device.key is None
    assert len({device.model_id for device in large}) >= 2 and len({device.site_id for device in large}) == 3
