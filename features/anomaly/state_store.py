"""Per (device, sensor) detector state in Redis, so the live scorer survives a restart with identical scores.

The live scorer owns the state: it loads a device's state before scoring its readings and saves the new one after
each poll (before committing the Kafka offsets). The anomaly service only reads it, to score a single reading in a
device's context without changing it. Values are ``DeviceState.to_bytes()`` (exact float64), never expiring: a
quiet device keeps its baseline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from redis import Redis

from features.anomaly.device_state import DeviceState

KEY_PREFIX = "anomaly:state:"


def state_key(device_id: str, sensor: str) -> str:
    return f"{KEY_PREFIX}{device_id}:{sensor}"


def load_state(redis: Redis, device_id: str, sensor: str) -> DeviceState | None:
    """The saved state of one device's sensor, or None when it has none yet (a device with no history)."""
    blob = redis.get(state_key(device_id, sensor))
    return None if blob is None else DeviceState.from_bytes(blob)


def load_states(redis: Redis, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], DeviceState | None]:
    """Several states in one round trip (what the live scorer asks for each poll)."""
    if not keys:
        return {}
    blobs = redis.mget([state_key(device_id, sensor) for device_id, sensor in keys])
    return {key: None if blob is None else DeviceState.from_bytes(blob) for key, blob in zip(keys, blobs, strict=True)}


def save_states(redis: Redis, states: Mapping[tuple[str, str], DeviceState]) -> None:
    """Save each ``(device_id, sensor) -> state`` in one pipelined round trip."""
    if not states:
        return
    pipe = redis.pipeline(transaction=False)
    for (device_id, sensor), state in states.items():
        pipe.set(state_key(device_id, sensor), state.to_bytes())
    pipe.execute()


def delete_states(redis: Redis, keys: Sequence[tuple[str, str]]) -> None:
    """Forget these states (a device's baseline is reset, or a test cleans up)."""
    if keys:
        redis.delete(*(state_key(device_id, sensor) for device_id, sensor in keys))
