"""Device authentication: who is refused with which status, and how long a verified key is trusted."""

from __future__ import annotations

import pytest

from ingest.iot.device_keys import hash_device_key
from ingest.iot.gateway_auth import AuthRefused, DeviceKeyCache, DeviceRecord, check_device

KEY = "k" * 43
SENSORS = frozenset({"temperature"})


def record(status: str = "active") -> DeviceRecord:
    return DeviceRecord(hash_device_key(KEY), status, SENSORS)


@pytest.mark.parametrize(
    ("found", "key", "status", "words"),
    [
        (None, KEY, 401, "unknown device"),
        (record(), "wrong", 401, "wrong key"),
        (record("retired"), KEY, 403, "retired"),
    ],
)
def test_refusals_name_the_problem(found: DeviceRecord | None, key: str, status: int, words: str) -> None:
    with pytest.raises(AuthRefused) as refused:
        check_device("dev-1", key, found)
    assert refused.value.status == status and words in refused.value.detail


def test_an_active_or_maintained_device_with_its_key_gets_its_sensors() -> None:
    assert check_device("dev-1", KEY, record()) == SENSORS
    assert check_device("dev-1", KEY, record("maintenance")) == SENSORS


def test_a_verified_key_is_trusted_for_the_ttl_only_and_only_for_that_key() -> None:
    now = [100.0]
    cache = DeviceKeyCache(ttl_s=30, clock=lambda: now[0])
    cache.put("dev-1", KEY, SENSORS)
    assert cache.get("dev-1", KEY) == SENSORS
    assert cache.get("dev-1", "another key") is None and cache.get("dev-2", KEY) is None
    now[0] += 29.9
    assert cache.get("dev-1", KEY) == SENSORS
    now[0] += 0.2
    assert cache.get("dev-1", KEY) is None  # a rotated key or retired device is looked up again
