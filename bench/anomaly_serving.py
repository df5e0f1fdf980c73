"""Anomaly serving: what one reading costs on the live path and how many readings a second the live scorer keeps
up with, each beside a baseline measured in the same run.

- single reading, the live step: ``detector.score`` with a warm device state (history full, ~120 kB) then the new
  state saved to Redis, per reading (p50/p95/p99), beside ``detector.score`` alone and beside a bare Redis
  GET+SET round trip of a state-sized value;
- the live scorer's poll loop (``serving.anomaly.live.LiveScorer.process``: parse, score, produce the scores to
  Kafka and wait for the acks, save the states) over polls of ``--devices`` devices' batches, in readings/s,
  beside ``detector.score`` alone over the same readings. The goal is 2,000 readings/s.

    .venv/bin/python -m bench.anomaly_serving --devices 20 --readings 100 --polls 10

Needs the local stack (Redis, Kafka, PostgreSQL). Writes under run-unique keys and a run-unique topic (keys are
deleted at the end). Prints a table with the load average and writes bench/results/anomaly_serving.json.
"""

from __future__ import annotations

import argparse
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
from kafka.admin import KafkaAdminClient, NewTopic
from redis import Redis

from bench.report import Measurement, Report, Stopwatch, load_average
from features.anomaly.state_store import delete_states, save_states, state_key
from ingest.iot.contract import ReadingV1, TelemetryBatchV1, reading_id
from ingest.iot.telemetry_io import encode_model
from lakehouse.settings import Settings, load_settings
from models.anomaly.detector import params_for_cadence, score, score_series_with_state
from models.anomaly.fitted import FittedDetector
from models.anomaly.registry import ChampionParams
from serving.anomaly.live import LiveScorer, LiveTopics, open_producer

CADENCE_S = 300
SENSOR = "temperature"
START = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Record:
    """What ``LiveScorer.process`` reads of a Kafka record."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    p50, p95, p99 = np.percentile(np.asarray(samples) * 1000, [50, 95, 99])
    return float(p50), float(p95), float(p99)


def warm_state(history: int):  # noqa: ANN201
    rng = np.random.default_rng(1)
    times = [START + timedelta(seconds=CADENCE_S * i) for i in range(history)]
    values = 50 + 5 * np.sin(np.arange(history) * 2 * np.pi / 288) + rng.normal(0, 1, history)
    _, state = score_series_with_state(params_for_cadence(CADENCE_S), times, values.tolist())
    return state, times[-1]


def single_reading(report: Report, redis: Redis, state, last: datetime, count: int, run: str) -> None:  # noqa: ANN001
    params, rng = params_for_cadence(CADENCE_S), np.random.default_rng(2)
    key = (f"bench-{run}", SENSOR)
    blob = state.to_bytes()
    bare, scored, live = [], [], []
    for _ in range(count):
        started = time.perf_counter()
        redis.get(state_key(*key))
        redis.set(state_key(*key), blob)
        bare.append(time.perf_counter() - started)
    s = state
    for i in range(count):
        now = (last + timedelta(seconds=CADENCE_S * (i + 1))).timestamp()
        started = time.perf_counter()
        _, _, s = score(params, s, now, 50 + rng.normal())
        scored.append(time.perf_counter() - started)
    s = state
    for i in range(count):
        now = (last + timedelta(seconds=CADENCE_S * (count + i + 1))).timestamp()
        started = time.perf_counter()
        _, _, s = score(params, s, now, 50 + rng.normal())
        save_states(redis, {key: s})
        live.append(time.perf_counter() - started)
    delete_states(redis, [key])
    for name, samples, baseline, compare in (
        ("redis GET+SET of a state-sized value (baseline)", bare, True, ""),
        ("detector.score alone, warm state (baseline)", scored, True, ""),
        ("live step: score + save the state to Redis", live, False, "detector.score alone, warm state (baseline)"),
    ):
        p50, p95, p99 = percentiles(samples)
        report.add(
            Measurement(
                name,
                len(samples),
                float(sum(samples)),
                unit="readings",
                is_baseline=baseline,
                compare_to=compare,
                p50_ms=p50,
                p99_ms=p99,
                notes=f"p95 {p95:.3f} ms; state {len(blob):,} bytes",
            )
        )


def poll_loop(report: Report, settings: Settings, state, last: datetime, args, run: str) -> None:  # noqa: ANN001
    topic = f"bench-{run}.scores"
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    admin.create_topics([NewTopic(topic, num_partitions=6, replication_factor=1)])
    admin.close()
    champion = ChampionParams("bench", FittedDetector({str(CADENCE_S): {"threshold": 0.8, "cooldown_scale": 1.0}}))
    devices = [f"bench-{run}-{d:04d}" for d in range(args.devices)]
    redis = Redis.from_url(settings.redis_url)
    save_states(redis, {(device, SENSOR): state for device in devices})
    rng = np.random.default_rng(3)
    polls, offset = [], 0
    for p in range(args.polls):
        records = []
        for device in devices:
            readings = []
            for r in range(args.readings):
                index = p * args.readings + r + 1
                ts = last + timedelta(seconds=CADENCE_S * index)
                rid = reading_id(device, SENSOR, ts, None)
                readings.append(ReadingV1(reading_id=rid, sensor=SENSOR, ts=ts, value=50 + rng.normal(), seq=None))
            batch = TelemetryBatchV1(batch_id=f"{device}-{p}", device_id=device, accepted_at=ts, readings=readings)
            records.append(Record("bench", 0, offset, device.encode(), encode_model(batch)))
            offset += 1
        polls.append(records)
    readings_total = args.polls * args.devices * args.readings
    params = params_for_cadence(CADENCE_S)
    with Stopwatch() as alone:
        for _device in range(args.devices):
            s = state
            for index in range(1, args.polls * args.readings + 1):
                _, _, s = score(params, s, (last + timedelta(seconds=CADENCE_S * index)).timestamp(), 50.0 + index % 7)
    producer = open_producer(settings)
    poll_seconds = []
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        scorer = LiveScorer(champion, redis, conn, producer, LiveTopics(scores=topic))
        with Stopwatch() as loop:
            for records in polls:
                started = time.perf_counter()
                scorer.process(records)
                poll_seconds.append(time.perf_counter() - started)
    producer.close(timeout=30)
    delete_states(redis, [(device, SENSOR) for device in devices])
    redis.close()
    baseline = Measurement(
        "detector.score alone, same readings (baseline)", readings_total, alone.seconds, "readings", is_baseline=True
    )
    report.add(baseline)
    p50, p95, p99 = percentiles(poll_seconds)
    report.add(
        Measurement(
            f"live scorer polls of {args.devices} batches x {args.readings} readings",
            readings_total,
            loop.seconds,
            "readings",
            compare_to="detector.score alone, same readings (baseline)",
            notes=f"per poll: p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms (an alert waits at most one poll)",
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--single", type=int, default=1000, help="single readings timed (default 1000)")
    parser.add_argument("--devices", type=int, default=20, help="batches (devices) per poll (default 20)")
    parser.add_argument("--readings", type=int, default=100, help="readings per batch (default 100)")
    parser.add_argument("--polls", type=int, default=10, help="polls timed (default 10)")
    parser.add_argument("--history", type=int, default=3000, help="readings in each device's warm state")
    args = parser.parse_args()
    settings, run = load_settings(), uuid.uuid4().hex[:8]
    logging.getLogger("serving.anomaly.live").setLevel(logging.ERROR)  # its devices are not in the registry
    report = Report("anomaly_serving", {k: v for k, v in vars(args).items()})
    load_before = load_average()
    state, last = warm_state(args.history)
    redis = Redis.from_url(settings.redis_url)
    single_reading(report, redis, state, last, args.single, run)
    redis.close()
    poll_loop(report, settings, state, last, args, run)
    report.parameters |= {"load_average_before": load_before, "load_average_after": load_average()}
    report.print_table()
    for m in report.measurements:
        print(f"  {m.name}: {m.notes}" if m.notes else "", end="\n" if m.notes else "")
    print(f"load average (1, 5, 15 min): before {load_before}, after {load_average()}")
    report.save()


if __name__ == "__main__":
    main()
