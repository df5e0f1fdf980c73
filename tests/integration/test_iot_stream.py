"""The long-running telemetry stream on the real stack: killed with SIGKILL in the middle of a micro-batch and
restarted, it loses no reading and duplicates none; SIGTERM stops it cleanly. It runs as `lakehouse stream
telemetry` in a subprocess, on this test's own topic and a throwaway lake."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kafka.admin import KafkaAdminClient, NewTopic

from ingest.iot import contract as ev
from ingest.iot.telemetry_producer import open_telemetry_producer, produce_batch
from lakehouse.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
WAIT_S = 600  # an upper bound for a loaded machine, not a timing assertion


def batches(prefix: str, first: int, count: int, size: int = 100) -> list[ev.TelemetryBatchV1]:
    made = []
    for b in range(first, first + count):
        device = f"{prefix}-d{b % 4}"
        readings = [
            ev.ReadingV1(
                reading_id=ev.reading_id(device, "temp", T0, seq),
                sensor="temp",
                ts=T0 + timedelta(seconds=seq),
                value=seq * 0.5,
                seq=seq,
            )
            for seq in range(b * size, (b + 1) * size)
        ]
        made.append(ev.TelemetryBatchV1(batch_id=f"{prefix}-b{b}", device_id=device, accepted_at=T0, readings=readings))
    return made


def start_stream(topic: str, lake: Path, log: Path) -> subprocess.Popen:
    command = [str(PROJECT_ROOT / ".venv/bin/lakehouse"), "stream", "telemetry", "--trigger-seconds", "1"]
    command += ["--telemetry-topic", topic, "--no-scores"]
    env = {**os.environ, "LAKEHOUSE_LAKE_ROOT": str(lake)}
    with log.open("a") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)


def batch_ids(folder: Path) -> set[int]:
    return {int(p.name) for p in folder.glob("[0-9]*")} if folder.exists() else set()


def in_flight(checkpoint: Path) -> bool:
    return max(batch_ids(checkpoint / "offsets")) > max(batch_ids(checkpoint / "commits"), default=-1)


def rows(spark, path: str) -> int:
    return spark.read.format("delta").load(path).count()


def wait_for(condition, what: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert process.poll() is None, f"the stream exited while waiting for {what}:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"gave up waiting for {what}:\n{log.read_text()[-3000:]}"
        time.sleep(0.05)


def test_killed_mid_batch_and_restarted_the_stream_loses_and_duplicates_nothing(
    stack_settings, spark, tmp_path, unique_name
) -> None:
    admin = KafkaAdminClient(bootstrap_servers=stack_settings.kafka_bootstrap_servers)
    admin.create_topics([NewTopic(unique_name, num_partitions=3, replication_factor=1)])
    admin.close()
    producer = open_telemetry_producer(stack_settings)
    first, second = batches(unique_name, 0, 40), batches(unique_name, 40, 40)
    for batch in first:
        produce_batch(producer, batch, unique_name)

    def keep_producing() -> None:  # more batches and retries arriving while the stream runs
        for batch in [*second, *first[:10]]:
            produce_batch(producer, batch, unique_name)
            time.sleep(0.1)

    lake, log = tmp_path / "lake", tmp_path / "stream.log"
    checkpoint = lake / "_checkpoints" / "silver" / "iot_telemetry"
    silver = str(lake / "silver" / "iot_readings")
    stream = start_stream(unique_name, lake, log)
    try:
        wait_for(lambda: batch_ids(checkpoint / "commits"), "a first silver micro-batch", stream, log)
        feeder = threading.Thread(target=keep_producing)
        feeder.start()
        # Planned but not committed: the stream is inside a micro-batch. Kill it there.
        wait_for(lambda: in_flight(checkpoint), "a micro-batch in flight", stream, log)
        stream.send_signal(signal.SIGKILL)
        stream.wait()
        killed_in = max(batch_ids(checkpoint / "offsets"))
        assert killed_in not in batch_ids(checkpoint / "commits")
        feeder.join()
        producer.close()

        stream = start_stream(unique_name, lake, log)
        produced = {r.reading_id for b in [*first, *second] for r in b.readings}
        wait_for(lambda: rows(spark, silver) >= len(produced), "every reading in silver", stream, log)
        stream.send_signal(signal.SIGTERM)
        assert stream.wait(timeout=WAIT_S) == 0, log.read_text()[-3000:]
    finally:
        if stream.poll() is None:
            stream.kill()
    assert killed_in in batch_ids(checkpoint / "commits")  # the interrupted batch was replayed after the restart
    ids = [r.reading_id for r in spark.read.format("delta").load(silver).select("reading_id").collect()]
    assert len(ids) == len(set(ids)) and set(ids) == produced
