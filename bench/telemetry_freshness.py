"""Telemetry freshness: how long from a reading's acceptance by the gateway (its ``accepted_at``) until its row is in
silver (`lakehouse stream telemetry`, processing-time trigger), p50 and p95, under a steady load of readings/s
posted through the real gateway (uvicorn in a subprocess). Baseline in the same run: the Kafka end-to-end latency of
the same messages, read by a bare consumer. With ``--scorer``, also the time to a score from the live anomaly scorer
(`lakehouse anomaly live`, which records each alert in the same unit, before its scores are acknowledged).

    .venv/bin/python -m bench.telemetry_freshness --seconds 60 --rate 2000

Everything runs on this run's own topics, devices and a throwaway lake. A reading's silver time is the commit time of
the Delta version that added the file holding it (read from the table's log), so the stream is measured unchanged.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pyarrow.parquet as pq
from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient, NewTopic

from bench.ingest_throughput import free_port
from bench.report import Measurement, Report, load_average
from ingest.domains import storage_declarations
from ingest.iot import registry
from lakehouse.settings import PROJECT_ROOT, Settings, load_settings
from stack.bootstrap import apply_all

# The gateway on this run's topic, in its own process (as deployed), on a free port.
GATEWAY = """
import sys, uvicorn
from ingest.iot.gateway import create_app
from lakehouse.settings import load_settings
app = create_app(load_settings(), topic=sys.argv[1])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] if ordered else float("nan")


def register_fleet(settings: Settings, run: str, devices: int) -> dict[str, str]:
    """This run's site, model (one sensor) and devices; device id → key."""
    keys = {}
    with psycopg.connect(settings.postgres_url) as conn, conn.transaction():
        registry.ensure_site(conn, site_id=f"{run}-site", name="bench", timezone="UTC", actor="bench")
        model = f"{run}-model"
        registry.ensure_device_model(
            conn, model_id=model, name="bench", sensors=["temp"], sampling_seconds=1, actor="bench"
        )
        for n in range(devices):
            device = f"{run}-d{n}"
            keys[device] = registry.register_device(
                conn,
                device_id=device,
                serial=device,
                model_id=model,
                site_id=f"{run}-site",
                owner_id="bench",
                actor="bench",
            )
    return keys


def start(command: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    with log.open("a") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT, env={**os.environ, **(env or {})}
        )


def wait_until(
    ready: Callable[[], bool], what: str, process: subprocess.Popen, log: Path, limit_s: float = 300
) -> None:
    deadline = time.monotonic() + limit_s
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{what} did not happen; log tail:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def reading(start: datetime, seq: int, per_second: int) -> dict[str, object]:
    """The ``seq``-th reading of a device sampling ``per_second`` times a second since ``start`` (timestamps never
    overlap between batches): a slow wave with a spike now and then (something to alert on)."""
    value = 20 + math.sin(seq / 50) + (15.0 if seq % 997 == 0 else 0.0)
    ts = start + timedelta(seconds=seq / per_second)
    return {"sensor": "temp", "ts": ts.isoformat(), "seq": seq, "value": value}


class Load:
    """Each device posts one batch a second (``rate / devices`` readings) on its own thread; accepted ids kept."""

    def __init__(self, url: str, keys: dict[str, str], rate: int) -> None:
        self.url, self.keys, self.per_batch = url, keys, max(1, rate // len(keys))
        self.accepted: dict[str, datetime] = {}  # reading id → accepted_at (from the gateway's answer)
        self.refused = 0
        self.lock = threading.Lock()
        self.start, self.sent = datetime.now(UTC) - timedelta(seconds=1), {}  # readings sent per device so far

    def run(self, seconds: float) -> None:
        threads = [threading.Thread(target=self._device, args=(d, k, seconds)) for d, k in self.keys.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _device(self, device: str, key: str, seconds: float) -> None:
        headers = {"X-Device-Id": device, "X-Device-Key": key}
        due, end = time.monotonic(), time.monotonic() + seconds
        with httpx.Client(timeout=30) as client:
            while due < end:
                seq = self.sent.get(device, 0)
                readings = [reading(self.start, seq + i, self.per_batch) for i in range(self.per_batch)]
                self.sent[device] = seq + self.per_batch
                answer = client.post(f"{self.url}/telemetry", headers=headers, json={"readings": readings})
                if answer.status_code == 202:
                    at = datetime.fromisoformat(answer.json()["accepted_at"])
                    with self.lock:
                        self.accepted.update((f"{device}/temp/s{r['seq']}", at) for r in readings)
                else:
                    self.refused += 1
                due += 1.0
                time.sleep(max(0.0, due - time.monotonic()))


def consume_latencies(servers: str, topic: str, stop: threading.Event, arrival: Callable[[dict, float], None]) -> None:
    """A bare consumer: hands every message's envelope and its receive time to ``arrival``."""
    consumer = KafkaConsumer(topic, bootstrap_servers=servers, auto_offset_reset="earliest", group_id=None)
    try:
        while not stop.is_set():
            for records in consumer.poll(timeout_ms=200).values():
                received = time.time()
                for record in records:
                    arrival(json.loads(record.value), received)
    finally:
        consumer.close()


def silver_times(table: Path) -> dict[str, float]:
    """reading id → epoch seconds of the commit that put it in silver (from the Delta log's add actions)."""
    committed: dict[str, float] = {}
    for entry in sorted((table / "_delta_log").glob("*.json")):
        actions = [json.loads(line) for line in entry.read_text().splitlines() if line]
        stamp = next((a["commitInfo"]["timestamp"] / 1000 for a in actions if "commitInfo" in a), None)
        for action in actions:
            if "add" in action and stamp is not None:
                ids = pq.read_table(table / action["add"]["path"], columns=["reading_id"]).column(0).to_pylist()
                committed.update((reading, stamp) for reading in ids)
    return committed


def silver_rows(table: Path) -> int:
    total = 0
    for entry in (table / "_delta_log").glob("*.json"):
        for line in entry.read_text().splitlines():
            action = json.loads(line) if line else {}
            total += json.loads(action["add"].get("stats") or "{}").get("numRecords", 0) if "add" in action else 0
    return total


class Arrivals:
    """reading id → when a bare consumer received the message carrying it (telemetry, or its score)."""

    def __init__(self, field: str) -> None:
        self.field, self.seen, self.alerts = field, {}, set()

    def __call__(self, envelope: dict, received: float) -> None:
        for item in envelope["payload"][self.field]:
            self.seen.setdefault(item["reading_id"], received)
            if item.get("alert"):
                self.alerts.add(item["reading_id"])


def latencies(measured: dict[str, datetime], reached: dict[str, float], only: set[str] | None = None) -> list[float]:
    return [reached[r] - at.timestamp() for r, at in measured.items() if r in reached and (only is None or r in only)]


def settle(count: Callable[[], int], target: int, quiet_s: float = 10, limit_s: float = 120) -> None:
    """Wait until ``count`` reaches ``target`` or stops growing for ``quiet_s`` (the scorer skips a few)."""
    deadline, last, since = time.monotonic() + limit_s, -1, time.monotonic()
    while count() < target and time.monotonic() < deadline and time.monotonic() - since < quiet_s:
        if count() != last:
            last, since = count(), time.monotonic()
        time.sleep(0.5)


def run_processes(settings: Settings, args: argparse.Namespace, run: str, work: Path) -> dict[str, object]:
    topic, scores_topic = f"{run}.telemetry", f"{run}.scores"
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    admin.create_topics([NewTopic(t, num_partitions=6, replication_factor=1) for t in (topic, scores_topic)])
    admin.close()
    keys = register_fleet(settings, run, args.devices)
    port, lakehouse = free_port(), str(PROJECT_ROOT / ".venv/bin/lakehouse")
    logs = {name: work / f"{name}.log" for name in ("gateway", "stream", "scorer")}
    gateway = start([sys.executable, "-c", GATEWAY, topic, str(port)], logs["gateway"])
    stream_command = [lakehouse, "stream", "telemetry", "--telemetry-topic", topic, "--no-scores"]
    stream_command += ["--trigger-seconds", str(args.trigger_seconds)]
    stream = start(stream_command, logs["stream"], {"LAKEHOUSE_LAKE_ROOT": str(work / "lake")})
    scorer_command = [lakehouse, "anomaly", "live", "--topic", topic, "--scores-topic", scores_topic, "--group", run]
    scorer = start(scorer_command, logs["scorer"]) if args.scorer else None
    stop, kafka, scores = threading.Event(), Arrivals("readings"), Arrivals("scores")
    servers = settings.kafka_bootstrap_servers
    consumers = [threading.Thread(target=consume_latencies, args=(servers, topic, stop, kafka))]
    if scorer:
        consumers.append(threading.Thread(target=consume_latencies, args=(servers, scores_topic, stop, scores)))
    silver = work / "lake" / "silver" / "iot_readings"
    try:
        wait_until(lambda: _healthy(f"http://127.0.0.1:{port}/health"), "gateway start", gateway, logs["gateway"])
        wait_until(lambda: "telemetry batch 0" in logs["stream"].read_text(), "stream start", stream, logs["stream"])
        for consumer in consumers:
            consumer.start()
        load = Load(f"http://127.0.0.1:{port}", keys, args.rate)
        load.run(args.warmup)  # the JVM's and the gateway's first seconds are not the steady state
        warm = set(load.accepted)
        load.run(args.seconds)
        load_avg = load_average()  # over the measured load, all processes busy
        measured = {r: at for r, at in load.accepted.items() if r not in warm}
        wait_until(lambda: silver_rows(silver) >= len(load.accepted), "every reading in silver", stream, logs["stream"])
        if scorer:
            settle(lambda: len(scores.seen), len(load.accepted))
    finally:
        stop.set()
        for process in (stream, scorer, gateway):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=120)
        for consumer in consumers:
            consumer.join(timeout=10)
    committed = silver_times(silver)
    return {
        "measured": measured,
        "refused": load.refused,
        "load_average": load_avg,
        "kafka": latencies(measured, kafka.seen),
        "silver": latencies(measured, committed),
        "scores": latencies(measured, scores.seen) if scorer else None,
        "alerts": latencies(measured, scores.seen, scores.alerts) if scorer else None,
        "scorer_log": logs["scorer"] if scorer else None,
    }


def add(report: Report, name: str, values: list[float] | None, seconds: float, baseline: bool = False) -> None:
    if not values:
        print(f"  {name}: not measured")
        return
    p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
    notes = f"p50 {p50:.2f} s, p95 {p95:.2f} s"
    report.add(Measurement(name, len(values), seconds, "readings", baseline, notes, p50_ms=p50 * 1000))
    print(f"  {name:<58} p50 {p50:7.2f} s   p95 {p95:7.2f} s   ({len(values):,} readings)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="measured load duration")
    parser.add_argument("--warmup", type=float, default=15, help="load before measuring (excluded)")
    parser.add_argument("--rate", type=int, default=2000, help="readings per second, all devices together")
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--trigger-seconds", type=float, default=2.0)
    parser.add_argument("--scorer", action="store_true", help="also run `lakehouse anomaly live` (needs a champion)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (the processes' logs, the lake)")
    args = parser.parse_args()
    settings = load_settings()
    apply_all(settings, storage_declarations(("iot",)), progress=lambda line: None)
    run = f"bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="telemetry-freshness-") as folder:
        work = args.keep or Path(folder)
        work.mkdir(parents=True, exist_ok=True)
        got = run_processes(settings, args, run, work)
        parameters = {name: getattr(args, name) for name in ("rate", "devices", "seconds", "trigger_seconds")}
        parameters |= {"load_average": got["load_average"], "refused_batches": got["refused"]}
        report = Report("telemetry_freshness", parameters)
        print(
            f"\naccepted {len(got['measured']):,} readings in {args.seconds:.0f}s; load average {got['load_average']}"
        )
        add(report, "baseline: accepted → bare Kafka consumer", got["kafka"], args.seconds, baseline=True)
        add(report, f"accepted → silver (stream, trigger {args.trigger_seconds:g} s)", got["silver"], args.seconds)
        if args.scorer:
            add(report, "accepted → scored (live scorer; alerts recorded first)", got["scores"], args.seconds)
            add(report, "accepted → alert (readings the scorer alerted on)", got["alerts"], args.seconds)
        else:
            print("  time to alert: not measured (run with --scorer once `lakehouse anomaly train` made a champion)")
        report.print_table()
        report.save()


if __name__ == "__main__":
    main()
