"""What the kill suites share: start a project command in a session of its own, SIGKILL it (or a stack service)
and bring it back with the project's own commands, wait for a condition, read a streaming checkpoint, count keys."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
from kafka import KafkaConsumer, TopicPartition

from lakehouse.settings import Settings
from stack.manager import Stack
from stack.processes import kill_tree, owned_process, stop

BIN = Path(sys.executable).parent
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            args, env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def crash(process: subprocess.Popen) -> None:
    kill_tree(process.pid)
    process.wait(30)


def stop_group(process: subprocess.Popen) -> None:
    if process.poll() is None:
        stop(owned_process(process.pid))  # SIGTERM, then SIGKILL of what is left, descendants included
    process.wait(30)


def wait_for(what: str, ready: Callable[[], bool], timeout_s: float = 180) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if ready():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout_s:.0f}s")


def healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def sigkill_service(settings: Settings, name: str) -> None:
    (status,) = Stack(settings).status([name])
    assert status.healthy, f"{name} was not running before its kill: {status.detail}"
    os.kill(status.pid, signal.SIGKILL)
    wait_for(f"{name} gone after SIGKILL", lambda: not Stack(settings).status([name])[0].healthy, 60)


def restart_service(name: str, env: dict[str, str]) -> None:
    done = subprocess.run([str(BIN / "lakehouse"), "stack", "up", name], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def batch_ids(folder: Path) -> set[int]:
    return {int(p.name) for p in folder.glob("[0-9]*")} if folder.exists() else set()


def in_flight_batch(checkpoint: Path, after: int) -> int | None:
    """A micro-batch newer than ``after`` whose offsets are written and whose commit is not."""
    started = batch_ids(checkpoint / "offsets") - batch_ids(checkpoint / "commits")
    return max((batch for batch in started if batch > after), default=None)


def materialize(selection: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    # The run `lakehouse materialize` starts, as one process: a SIGKILL ends the whole run.
    return spawn([str(BIN / "python"), "-m", "assets.materialize", selection], env, log)


def kafka_events(settings: Settings, topic: str, event_type: str, keep: Callable[[dict], bool]) -> list[dict]:
    """The events of ``topic`` (envelopes) of ``event_type`` that ``keep`` accepts, duplicates included."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        kept = []
        while any(consumer.position(p) < ends[p] for p in partitions):
            for records in consumer.poll(timeout_ms=1000).values():
                for record in records:
                    event = json.loads(record.value)
                    if event.get("type") == event_type and keep(event):
                        kept.append(event)
        return kept
    finally:
        consumer.close()


def tally(keys: list[str]) -> dict[str, int]:
    counted = Counter(keys)
    return {"rows": len(keys), "distinct": len(counted), "duplicates": sum(n - 1 for n in counted.values())}
