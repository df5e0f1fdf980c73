"""A seeded fleet registered in the IoT registry: sites, device models, devices owned by people of the shared
user id space (``u-000001`` ..., the same people chat and social know), firmware releases and rollouts, and a
configuration document per device. `lakehouse generate iot` calls it, then streams telemetry for the devices.

Idempotent by seed: ids derive from (seed, device number) only (``dev-<seed>-<n>``), so the same run twice
registers nothing new. A device's key is issued once: a device registered by this run comes back with its
``key``; one registered before comes back with ``key=None``, and a caller that needs to send for it issues a new
key with ``registry.rotate_device_key`` (that stops the old key). Changing ``sites`` for a seed moves devices to
other sites, which the registry refuses as a conflict: a seed and a site count name one fleet.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

import psycopg

from ingest.core.unit_of_work import set_actor
from ingest.iot.commands import (
    ConfigureDevice,
    CreateDeviceModel,
    CreateSite,
    RegisterDevice,
    ReleaseFirmware,
    RollOutFirmware,
    SensorCalibration,
)
from ingest.iot.context import IotContext, open_context
from ingest.iot.registry import rotate_device_key
from ingest.iot.service import handle
from lakehouse.settings import Settings

ACTOR = "generator"
TIMEZONES = ("Europe/Berlin", "America/Chicago", "Asia/Singapore", "Europe/London", "Australia/Sydney")
PEOPLE = 200  # owners are drawn from u-000001 .. u-000200, as chat's generator draws its users
FIRMWARE = ("1.0.0", "1.1.0")


@dataclass(frozen=True)
class FleetModel:
    model_id: str
    name: str
    sensor: str
    sampling_seconds: int
    low: float  # alert thresholds a person would set for the sensor
    high: float


MODELS = (
    FleetModel("chiller-c1", "Chiller C1", "temperature", 60, -10.0, 150.0),
    FleetModel("pump-p2", "Pump P2", "vibration", 120, 0.0, 200.0),
    FleetModel("boiler-b3", "Boiler B3", "pressure", 300, 0.0, 250.0),
)


@dataclass(frozen=True)
class FleetDevice:
    device_id: str
    model_id: str
    site_id: str
    owner_id: str
    sensors: tuple[str, ...]
    sampling_seconds: int
    key: str | None  # None: registered by an earlier run (rotate its key to send for it)


def fleet_layout(*, devices: int, seed: int, sites: int = 3) -> list[FleetDevice]:
    """Who is who in the fleet (without keys): each device's attributes depend on (seed, number) alone."""
    layout = []
    for number in range(1, devices + 1):
        rng = random.Random(f"{seed}-{number}")
        model = rng.choice(MODELS)
        owner = f"u-{rng.randint(1, PEOPLE):06d}"
        site = site_id(seed, (number - 1) % sites + 1)
        device = FleetDevice(
            f"dev-{seed}-{number}", model.model_id, site, owner, (model.sensor,), model.sampling_seconds, None
        )
        layout.append(device)
    return layout


def site_id(seed: int, number: int) -> str:
    return f"site-{seed}-{number}"


def generate_fleet(settings: Settings, *, devices: int, seed: int, sites: int = 3) -> list[FleetDevice]:
    """Register the fleet of ``seed`` (what is already there is left alone); returns it, with the keys issued now."""
    layout = fleet_layout(devices=devices, seed=seed, sites=sites)
    with open_context(settings, pool_size=2) as ctx:
        for number in range(1, sites + 1):
            name = f"Plant {seed}-{number}"
            handle(
                CreateSite(site_id=site_id(seed, number), name=name, timezone=TIMEZONES[(number - 1) % 5]), ctx, ACTOR
            )
        for model in MODELS:
            _model_with_firmware(ctx, model)
        fleet = [_registered(ctx, device, seed) for device in layout]
        _roll_out(ctx, layout, seed)
    return fleet


def _model_with_firmware(ctx: IotContext, model: FleetModel) -> None:
    command = CreateDeviceModel(
        model_id=model.model_id, name=model.name, sensors=[model.sensor], sampling_seconds=model.sampling_seconds
    )
    handle(command, ctx, ACTOR)
    for version in FIRMWARE:
        handle(ReleaseFirmware(model_id=model.model_id, version=version, notes=f"{model.name} {version}"), ctx, ACTOR)


def _registered(ctx: IotContext, device: FleetDevice, seed: int) -> FleetDevice:
    serial = f"SN-{seed}-{device.device_id.rsplit('-', 1)[1].zfill(6)}"
    command = RegisterDevice(
        device_id=device.device_id,
        serial=serial,
        model_id=device.model_id,
        site_id=device.site_id,
        owner_id=device.owner_id,
    )
    accepted = handle(command, ctx, ACTOR)
    model = next(m for m in MODELS if m.model_id == device.model_id)
    rng = random.Random(f"{seed}-{device.device_id}-config")
    calibration = SensorCalibration(
        sensor=model.sensor,
        offset=round(rng.uniform(-0.5, 0.5), 3),
        scale=round(rng.uniform(0.98, 1.02), 4),
        low=model.low,
        high=model.high,
    )
    config = ConfigureDevice(
        command_id=f"config-{device.device_id}-1",
        device_id=device.device_id,
        sampling_seconds=model.sampling_seconds,
        sensors=[calibration],
    )
    handle(config, ctx, ACTOR)
    return replace(device, key=accepted.device_key)


def _roll_out(ctx: IotContext, layout: list[FleetDevice], seed: int) -> None:
    """Every device gets 1.0.0; about half of each model's devices then 1.1.0 (the rollout in progress)."""
    first, newer = FIRMWARE
    for model in MODELS:
        device_ids = [device.device_id for device in layout if device.model_id == model.model_id]
        rollout = f"rollout-{seed}-{len(layout)}-{model.model_id}"
        _install(ctx, f"{rollout}-{first}", model.model_id, first, device_ids)
        _install(ctx, f"{rollout}-{newer}", model.model_id, newer, device_ids[: (len(device_ids) + 1) // 2])


def _install(ctx: IotContext, rollout: str, model_id: str, version: str, device_ids: list[str]) -> None:
    for start in range(0, len(device_ids), 1000):  # a rollout command names at most 1000 devices
        chunk = device_ids[start : start + 1000]
        command = RollOutFirmware(command_id=f"{rollout}-{start}", model_id=model_id, version=version, device_ids=chunk)
        handle(command, ctx, ACTOR)


def fleet_keys(settings: Settings, fleet: list[FleetDevice]) -> dict[str, str]:
    """Each device's key: the one just issued, or a new one for a device registered before (a key is shown only
    once, so a re-run re-keys the devices it feeds; their old keys stop working)."""
    keys = {device.device_id: device.key for device in fleet if device.key is not None}
    with psycopg.connect(settings.postgres_url) as conn, conn.transaction():
        set_actor(conn, "iot", ACTOR)
        for device in fleet:
            if device.key is None:
                keys[device.device_id] = rotate_device_key(conn, device_id=device.device_id, actor=ACTOR)
    return keys
