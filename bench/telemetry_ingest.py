"""Telemetry ingest throughput: readings/s through the gateway over HTTP (8 clients, batches of 100 and 1,000,
uvicorn with 2 workers) beside a bare kafka-python producer sending the same messages with the same batching, and
readings/s through the Cassandra writer beside bare driver inserts (prepared, concurrent), all in the same run,
with the machine's load average.

    .venv/bin/python -m bench.telemetry_ingest --readings 80000

Everything goes to a topic of the run's own (``bench_<run>.telemetry``), not to ``iot.telemetry``: other consumers
never see bench traffic. The gateway runs as a real uvicorn process (``--workers``); devices are registered first.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
from cassandra.concurrent import execute_concurrent_with_args
from fastapi import FastAPI
from kafka.admin import KafkaAdminClient, NewTopic

from bench.ingest_throughput import free_port
from bench.report import Measurement, Report, Stopwatch, load_average
from ingest.core.cassandra import open_session
from ingest.core.storage import KIT_STORAGE
from ingest.core.unit_of_work import set_actor
from ingest.iot import registry
from ingest.iot.cassandra_writer import WriterTopics, open_consumer, write_pass
from ingest.iot.contract import CONTRACT, reading_id
from ingest.iot.telemetry_io import encode_batch, iso_utc
from ingest.iot.telemetry_producer import open_telemetry_producer, send_encoded
from ingest.iot.telemetry_store import INSERT, day_of
from lakehouse.settings import Settings, load_settings
from stack.bootstrap import apply_all

TOPIC_VARIABLE = "BENCH_TELEMETRY_TOPIC"
START = datetime(2026, 1, 1, tzinfo=UTC)


def bench_gateway() -> FastAPI:
    """The gateway each uvicorn worker builds: producing to the bench's topic."""
    from ingest.iot.gateway import create_app

    return create_app(load_settings(), topic=os.environ[TOPIC_VARIABLE])


def register_devices(settings: Settings, run: str, count: int) -> dict[str, str]:
    with psycopg.connect(settings.postgres_url) as conn, conn.transaction():
        set_actor(conn, "iot", "bench")
        registry.ensure_site(conn, site_id="bench", name="bench", timezone="UTC", actor="bench")
        registry.ensure_device_model(
            conn, model_id="bench-model", name="bench", sensors=["temperature"], sampling_seconds=1, actor="bench"
        )
        keys = {}
        for number in range(count):
            device = f"bench-{run}-{number}"
            keys[device] = registry.register_device(
                conn,
                device_id=device,
                serial=device,
                model_id="bench-model",
                site_id="bench",
                owner_id="u-000001",
                actor="bench",
            )
    return keys


def readings(offset: int, count: int) -> list[dict]:
    """``count`` readings a second apart from START + ``offset`` s, with seq (ids unique per device)."""
    return [
        {
            "sensor": "temperature",
            "ts": iso_utc(START + timedelta(seconds=offset + i)),
            "value": 20 + (i % 50) / 10,
            "seq": offset + i,
        }
        for i in range(count)
    ]


def bodies(devices: list[str], batch_size: int, batches: int, offset: int) -> list[tuple[str, bytes]]:
    """(device, request body) for each batch, pre-encoded so the clients measure the gateway, not json.dumps."""
    work = []
    for number in range(batches):
        for device in devices:
            work.append((device, json.dumps({"readings": readings(offset + number * batch_size, batch_size)}).encode()))
    return work


def start_gateway(settings: Settings, topic: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.telemetry_ingest:bench_gateway", "--factory"]
    command += ["--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    server = subprocess.Popen(command, env=os.environ | {TOPIC_VARIABLE: topic})
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/health").status_code == 200:
                return server, url
        except httpx.TransportError:
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError("the gateway did not start")


def bench_http(url: str, keys: dict[str, str], work: list[tuple[str, bytes]], clients: int) -> float:
    with httpx.Client(base_url=url, timeout=60, limits=httpx.Limits(max_connections=clients)) as client:

        def post(item: tuple[str, bytes]) -> None:
            device, body = item
            headers = {"X-Device-Id": device, "X-Device-Key": keys[device], "Content-Type": "application/json"}
            answer = client.post("/telemetry", content=body, headers=headers)
            if answer.status_code != 202:
                raise RuntimeError(answer.text)

        post(work[0])  # warm: the key cache and the producer's connections
        with Stopwatch() as watch, ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(post, work[1:]))
    return watch.seconds


def bench_bare_producer(settings: Settings, topic: str, work: list[tuple[str, bytes]]) -> float:
    """The same batches as envelopes, through one producer with the gateway's settings; acked at the end."""
    accepted_at = datetime.now(UTC)
    messages = []
    for number, (device, body) in enumerate(work[1:]):
        rows = json.loads(body)["readings"]
        for row in rows:
            row["reading_id"] = reading_id(device, row["sensor"], datetime.fromisoformat(row["ts"]), row["seq"])
        messages.append((device, encode_batch(f"bare-{number}", device, accepted_at, rows)))
    producer = open_telemetry_producer(settings, client_id="bench-bare")
    producer.partitions_for(topic)
    with Stopwatch() as watch:
        futures = [send_encoded(producer, device, value, topic) for device, value in messages]
        for future in futures:
            future.get(timeout=60)
    producer.close()
    return watch.seconds


def bench_gateway_and_producer(
    settings: Settings, report: Report, topic: str, keys: dict[str, str], total: int, clients: int, workers: int
) -> None:
    devices = list(keys)
    server, url = start_gateway(settings, topic, workers)
    try:
        for offset, batch_size in ((0, 100), (10_000_000, 1000)):
            batches = max(1, total // (batch_size * len(devices)))
            work = bodies(devices, batch_size, batches + 1, offset)[: batches * len(devices) + 1]
            count = (len(work) - 1) * batch_size
            bare = bench_bare_producer(settings, f"{topic}.bare", work)
            name = f"bare kafka-python producer, {batch_size}-reading messages"
            report.add(Measurement(f"baseline: {name}", count, bare, "readings", is_baseline=True))
            seconds = bench_http(url, keys, work, clients)
            label = f"gateway POST /telemetry, batches of {batch_size}, {clients} clients, {workers} workers"
            report.add(Measurement(label, count, seconds, "readings", compare_to=f"baseline: {name}"))
    finally:
        server.terminate()
        server.wait(timeout=30)


def bench_writer(settings: Settings, report: Report, topic: str, run: str, expected: int) -> None:
    topics = WriterTopics(source=topic, dead_letters=f"{topic}.dlq", group=f"bench-writer-{run}")
    consumer = open_consumer(settings, topics)
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    written = 0
    with open_session(settings) as session:
        insert = session.prepare(INSERT)
        while not consumer.assignment():
            consumer.poll(timeout_ms=200, max_records=1, update_offsets=False)
        consumer.seek_to_beginning()
        with Stopwatch() as watch:
            while written < expected:
                written += write_pass(consumer, producer, session, insert, topics.dead_letters).readings
        report.add(
            Measurement(
                "Cassandra writer (consume, parse, write, commit)",
                written,
                watch.seconds,
                "readings",
                compare_to="baseline: bare Cassandra inserts, prepared + concurrent (100)",
            )
        )
    consumer.close()
    producer.close()


def bench_bare_cassandra(settings: Settings, report: Report, run: str, count: int) -> None:
    rows = []
    for i in range(count):
        ts = START + timedelta(seconds=i)
        device = f"bench-bare-{run}-{i % 8}"
        rows.append((device, day_of(ts), ts, "temperature", f"{device}/temperature/s{i}", 20.5, i, "bare"))
    with open_session(settings) as session:
        insert = session.prepare(INSERT)
        with Stopwatch() as watch:
            execute_concurrent_with_args(session, insert, rows, concurrency=100, raise_on_first_error=True)
    name = "baseline: bare Cassandra inserts, prepared + concurrent (100)"
    report.add(Measurement(name, count, watch.seconds, "readings", is_baseline=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readings", type=int, default=80_000, help="per batch size, through the gateway")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes of the gateway")
    parser.add_argument("--cassandra-readings", type=int, default=40_000)
    args = parser.parse_args()
    settings, run = load_settings(), uuid.uuid4().hex[:6]
    apply_all(settings, [KIT_STORAGE, CONTRACT.storage], progress=lambda line: None)
    topic = f"bench_{run}.telemetry"
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    names = (topic, f"{topic}.bare", f"{topic}.dlq")
    admin.create_topics([NewTopic(name, num_partitions=6, replication_factor=1) for name in names])
    admin.close()
    parameters = {"readings": args.readings, "clients": args.clients, "workers": args.workers}
    report = Report("telemetry_ingest", parameters | {"load_average_before": load_average()})
    keys = register_devices(settings, run, args.clients)
    print(f"run {run}: gateway vs bare producer, then writer vs bare inserts", flush=True)
    bench_gateway_and_producer(settings, report, topic, keys, args.readings, args.clients, args.workers)
    bench_bare_cassandra(settings, report, run, args.cassandra_readings)
    bench_writer(settings, report, topic, run, args.cassandra_readings)
    report.parameters["load_average_after"] = load_average()
    report.print_table()
    report.save()


if __name__ == "__main__":
    main()
