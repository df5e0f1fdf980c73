"""Who may post telemetry: a registered device presenting its own key, checked against ``iot.devices.key_hash``.

A hot device posts a batch every second or so; a PostgreSQL query per batch would make the registry the gateway's
bottleneck. So a verified (device, key hash) pair is remembered in memory for ``ttl_s`` (30 s by default), per
gateway process, with the device model's sensors. The price: a rotated key keeps working, and a device retired keeps
posting, for at most ``ttl_s`` after the change. Refusals are not remembered: a fixed key works at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool

from ingest.iot.device_keys import hash_device_key, key_matches

KEY_TTL_S = 30.0
MAX_ENTRIES = 100_000  # a bound on memory, should many devices (or many wrong keys) come by
DEVICE = """SELECT d.key_hash, d.status, m.sensors FROM iot.devices d
JOIN iot.device_models m ON m.model_id = d.model_id WHERE d.device_id = %s"""


@dataclass(frozen=True)
class DeviceRecord:
    key_hash: str
    status: str
    sensors: frozenset[str]


@dataclass
class AuthRefused(Exception):
    """401: no such device or not its key; 403: the device may not post (retired)."""

    status: int
    detail: str

    def __str__(self) -> str:
        return self.detail


def check_device(device_id: str, key: str, record: DeviceRecord | None) -> frozenset[str]:
    """The device's sensors when ``key`` is its key and it may post; AuthRefused naming the problem otherwise."""
    if record is None:
        raise AuthRefused(401, f"unknown device {device_id!r}: register it first")
    if not key_matches(key, record.key_hash):
        raise AuthRefused(401, f"wrong key for device {device_id!r} (X-Device-Key)")
    if record.status == "retired":
        raise AuthRefused(403, f"device {device_id!r} is retired: it may not post telemetry")
    return record.sensors


class DeviceKeyCache:
    """Verified (device, key hash) pairs and their sensors, each trusted for ``ttl_s`` seconds."""

    def __init__(self, ttl_s: float = KEY_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self._clock = ttl_s, clock
        self._entries: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}

    def get(self, device_id: str, key: str) -> frozenset[str] | None:
        entry = self._entries.get((device_id, hash_device_key(key)))
        if entry is None or entry[0] <= self._clock():
            return None
        return entry[1]

    def put(self, device_id: str, key: str, sensors: frozenset[str]) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            now = self._clock()
            self._entries = {pair: entry for pair, entry in self._entries.items() if entry[0] > now}
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
        self._entries[(device_id, hash_device_key(key))] = (self._clock() + self.ttl_s, sensors)


async def fetch_device(pool: AsyncConnectionPool, device_id: str) -> DeviceRecord | None:
    async with pool.connection() as conn:
        row = await (await conn.execute(DEVICE, (device_id,))).fetchone()
    return None if row is None else DeviceRecord(row[0], row[1], frozenset(row[2]))


async def authenticate(pool: AsyncConnectionPool, cache: DeviceKeyCache, device_id: str, key: str) -> frozenset[str]:
    """The device's sensors, from the cache or (on a miss) from PostgreSQL; AuthRefused if it may not post."""
    sensors = cache.get(device_id, key)
    if sensors is None:
        sensors = check_device(device_id, key, await fetch_device(pool, device_id))
        cache.put(device_id, key, sensors)
    return sensors
