"""The main job's IoT part: a simulated fleet and a real NAB series through the telemetry gateway, written to
Cassandra and scored live, and what the alerts set moving (maintenance tickets, the owner told in chat).

The gateway runs as its own process, as devices would meet it (an already running `lakehouse iot gateway` is used
as it is). The simulated window ends at a fixed ``end`` and the replayed series is a file, so a re-run sends the
same readings with the same reading ids: the live scorer skips what its state has seen, no alert repeats.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import psycopg

from ingest.core.relay import relay_pass
from ingest.domains import consume_notifications, relay_sources
from ingest.iot.cassandra_writer import run_writer
from ingest.iot.fleet import fleet_keys, generate_fleet
from ingest.iot.fleet_feed import feed_fleet, fleet_series
from ingest.iot.replay import replay_file
from lakehouse.settings import Settings
from serving.anomaly.live import run_live_scorer
from serving.server import settings_environment

Progress = Callable[[str], None]

REPLAY_SERIES = Path("nab_dev/data/realKnownCause/ambient_temperature_system_failure.csv")
REPLAY_DEVICE = "nab-ambient-temperature"
REPLAY_OWNER = "u-000001"


class GatewayError(RuntimeError):
    pass


@dataclass(frozen=True)
class ReplayAlert:
    reading_at: datetime
    value: float
    anomaly_score: float
    ticket_id: str


@dataclass(frozen=True)
class IotReport:
    devices: int
    readings_accepted: int
    faults: int
    written: int
    scored: int
    skipped: int
    new_alerts: int
    replay_device: str
    replay_rows: int
    replay_alerts: list[ReplayAlert] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"fleet: {self.devices} devices, {self.readings_accepted:,} readings accepted by the gateway "
            f"({self.faults} labelled faults simulated); {len(self.refused)} refused",
            f"Cassandra writer: {self.written:,} readings written; live scorer: {self.scored:,} scored, "
            f"{self.skipped:,} skipped as already scored, {self.new_alerts} new alerts",
        ]


@dataclass(frozen=True)
class DeviceNotice:
    ticket_id: str
    status: str
    alert_count: int
    chat_room: str | None
    chat_text: str | None


def run_iot(settings: Settings, *, devices: int, days: int, seed: int, end: datetime, progress: Progress) -> IotReport:
    """Register the fleet, feed it and the NAB series through the gateway, write and score what came in."""
    fleet = generate_fleet(settings, devices=devices, seed=seed)
    keys = fleet_keys(settings, fleet)
    series = fleet_series(fleet, days=days, seed=seed, end=end)
    source = settings.shared_data_dir / REPLAY_SERIES
    with running_gateway(settings, progress) as url, httpx.Client(base_url=url, timeout=60) as client:
        fed = feed_fleet(client, fleet, keys, series, batch_size=500, clients=4)
        progress(f"fleet fed: {fed.readings:,} readings in {fed.batches} batches")
        replayed = replay_file(settings, client, source, REPLAY_DEVICE, sensor="value", owner_id=REPLAY_OWNER)
        progress(f"replayed {source.name} as {REPLAY_DEVICE}: {replayed.accepted:,} of {replayed.rows:,} rows")
    written = run_writer(settings, until_idle=True)
    scored = run_live_scorer(settings, until_idle=True)
    return IotReport(
        devices=len(fleet),
        readings_accepted=fed.readings + replayed.accepted,
        faults=len(series.faults),
        written=written.readings,
        scored=scored.scored,
        skipped=scored.skipped,
        new_alerts=scored.new_alerts,
        replay_device=REPLAY_DEVICE,
        replay_rows=replayed.rows,
        replay_alerts=replay_alerts(settings, REPLAY_DEVICE),
        refused=fed.problems + replayed.problems,
    )


def replay_alerts(settings: Settings, device_id: str) -> list[ReplayAlert]:
    with psycopg.connect(settings.postgres_url) as conn:
        rows = conn.execute(
            """SELECT reading_at, value, anomaly_score, ticket_id FROM iot.anomaly_alerts
            WHERE device_id = %s ORDER BY reading_at""",
            (device_id,),
        ).fetchall()
    return [ReplayAlert(*row) for row in rows]


def device_notices(settings: Settings, device_id: str, owner_id: str = REPLAY_OWNER) -> list[DeviceNotice]:
    """Relay IoT's new events (alerts go to NATS too), let chat consume them, and read the device's tickets with
    the newest message its owner's device-alerts room was told."""
    relay_pass(settings, relay_sources("iot"))
    consume_notifications(settings, "chat")
    relay_pass(settings, relay_sources("chat"))
    with psycopg.connect(settings.postgres_url) as conn:
        tickets = conn.execute(
            """SELECT ticket_id, status, alert_count FROM iot.maintenance_tickets
            WHERE device_id = %s ORDER BY opened_at""",
            (device_id,),
        ).fetchall()
        told = conn.execute(
            """SELECT r.room_id, m.body FROM chat.rooms r
            JOIN chat.messages m ON m.room_id = r.room_id AND m.author_id = 'system'
            WHERE r.external_ref = %s AND m.body LIKE %s ORDER BY m.sent_at DESC LIMIT 1""",
            (f"iot:{owner_id}", f"%{device_id}%"),
        ).fetchone()
    room, text = told if told else (None, None)
    return [DeviceNotice(ticket, status, count, room, text) for ticket, status, count in tickets]


@contextmanager
def running_gateway(settings: Settings, progress: Progress, timeout_s: float = 60) -> Iterator[str]:
    """The telemetry gateway at its configured address: the one already running there, or a process started now
    and stopped on exit."""
    url = settings.telemetry_gateway_url.rstrip("/")
    if _healthy(url):
        progress(f"using the telemetry gateway already running at {url}")
        yield url
        return
    log_file = settings.home_dir / "logs" / "telemetry-gateway.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    command = [str(Path(sys.executable).with_name("lakehouse")), "iot", "gateway"]
    with log_file.open("w") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **settings_environment(settings)}
        )
    try:
        deadline = time.monotonic() + timeout_s
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(log_file.read_text().splitlines()[-20:])
                raise GatewayError(f"the telemetry gateway did not start at {url}; log {log_file}:\n{tail}")
            time.sleep(0.3)
        progress(f"telemetry gateway started at {url} (pid {process.pid}, log {log_file})")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
