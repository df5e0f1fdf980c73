"""Fraud serving: POST /score latency (p50, p99) and requests/s through the real BentoML server at fixed client
concurrency, beside the in-process ceiling measured in the same run: the same Redis read, feature assembly and
model call in a loop in this process, for the same orders, with no HTTP, no BentoML, no second process.

    .venv/bin/python -m bench.fraud_serving --requests 500 --concurrency 1,10,100

Needs the local stack (Redis, PostgreSQL: `lakehouse stack up`). The model is trained on synthetic rows and
registered in a temporary MLflow store; online features for ``--entities`` customers and terminals are written to
Redis under run-unique ids (deleted at the end). Prints a table and writes bench/results/fraud_serving.json.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import numpy as np
import pandas as pd
from psycopg_pool import ConnectionPool
from redis import Redis
from threadpoolctl import ThreadpoolController

from bench.report import Measurement, Report, Stopwatch, load_average
from features.fraud.spec import (
    CUSTOMER_FEATURES,
    CUSTOMER_KEY,
    FEATURE_COLUMNS,
    LABEL_COLUMN,
    ORDER_KEY,
    TERMINAL_FEATURES,
    TERMINAL_KEY,
    TIMESTAMP_COLUMN,
)
from features.online_store import AS_OF_FIELD
from lakehouse.mlflow_store import configure_mlflow
from lakehouse.settings import Settings, load_settings
from models.fraud.registry import ChampionModel, current_champion, register_fraud_model
from models.fraud.training import scores_of, train_fraud_model
from serving.fraud.contract import FraudScoreRequest
from serving.fraud.features import order_features
from serving.fraud.service import FraudService
from serving.registry import served_model
from serving.server import start_server

WARMUP_REQUESTS = 30
TRAINING_ROWS = 20_000


def training_frame(rows: int, seed: int = 3) -> pd.DataFrame:
    """Synthetic training rows over 60 days where fraud follows a large amount for the customer or a risky terminal."""
    rng = np.random.default_rng(seed)
    placed_at = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(np.sort(rng.uniform(0, 60 * 86400, rows)), "s")
    average = rng.lognormal(3.5, 0.5, rows)
    amount = average * rng.lognormal(0.0, 0.6, rows)
    risk = rng.beta(1, 40, (rows, 3))
    hours = placed_at.hour.to_numpy()
    columns = {
        "amount": amount,
        "amount_to_customer_avg_30d": amount / average,
        "hour_of_day": hours,
        "is_weekend": placed_at.dayofweek.to_numpy() >= 5,
        "is_night": hours < 6,
        **{f"customer_orders_{d}d": rng.poisson(d / 3, rows) for d in (1, 7, 30)},
        **{f"customer_spend_{d}d": rng.poisson(d / 3, rows) * average for d in (1, 7, 30)},
        "customer_avg_amount_30d": average,
        **{f"terminal_orders_{d}d": rng.poisson(d * 5, rows) for d in (1, 7, 30)},
        **{f"terminal_risk_{d}d": risk[:, i] for i, d in enumerate((1, 7, 30))},
    }
    frame = pd.DataFrame({name: np.asarray(columns[name], dtype=float) for name in FEATURE_COLUMNS})
    fraud = (columns["amount_to_customer_avg_30d"] > 2.5) | (risk[:, 1] > 0.07)
    frame[LABEL_COLUMN] = (fraud ^ (rng.random(rows) < 0.02)).astype(int)
    frame[TIMESTAMP_COLUMN] = placed_at
    frame[ORDER_KEY] = [f"o{i}" for i in range(rows)]
    return frame


def write_online_features(redis: Redis, run: str, entities: int, now: datetime) -> list[str]:
    """One fresh hash per customer and terminal (laid out as ``features.fraud.online.write_online`` does); returns
    keys."""
    rng = np.random.default_rng(5)
    keys, pipe = [], redis.pipeline(transaction=False)
    for number in range(entities):
        customer = dict(zip(CUSTOMER_FEATURES, rng.uniform(0, 50, len(CUSTOMER_FEATURES)), strict=True))
        terminal = dict(zip(TERMINAL_FEATURES, rng.uniform(0, 0.2, len(TERMINAL_FEATURES)), strict=True))
        for template, entity, values in (
            (CUSTOMER_KEY, {"customer_id": f"{run}-c{number}"}, customer),
            (TERMINAL_KEY, {"terminal_id": f"{run}-t{number}"}, terminal),
        ):
            key = template.format(**entity)
            pipe.hset(key, mapping={**{k: repr(float(v)) for k, v in values.items()}, AS_OF_FIELD: now.isoformat()})
            pipe.expire(key, 3600)
            keys.append(key)
    pipe.execute()
    return keys


def score_requests(run: str, count: int, entities: int, now: datetime) -> list[FraudScoreRequest]:
    rng = np.random.default_rng(9)
    return [
        FraudScoreRequest(
            order_id=f"{run}-o{number}",
            customer_id=f"{run}-c{rng.integers(entities)}",
            terminal_id=f"{run}-t{rng.integers(entities)}",
            amount=Decimal(int(rng.integers(100, 50_000))) / 100,
            placed_at=now - timedelta(seconds=int(rng.integers(0, 3600))),
        )
        for number in range(count)
    ]


def percentiles_ms(latencies_s: list[float]) -> tuple[float, float]:
    p50, p99 = np.percentile(np.asarray(latencies_s) * 1000, [50, 99])
    return float(p50), float(p99)


def ceiling(
    champion: ChampionModel, redis: Redis, postgres: ConnectionPool, requests: list[FraudScoreRequest], ttl_s: int
) -> tuple[list[float], float]:
    """What one service call does minus HTTP and BentoML: the same functions, sequentially, in this process."""
    thread_pools = ThreadpoolController()
    latencies = []
    with Stopwatch() as total:
        for request in requests:
            started = time.perf_counter()
            features = order_features(redis, postgres, request, datetime.now(UTC), ttl_s)
            vector = pd.DataFrame([features.values], columns=list(FEATURE_COLUMNS))
            with thread_pools.limit(limits=1, user_api="openmp"):
                score = float(scores_of(champion.model, vector)[0])
            champion.thresholds.decision(score)
            latencies.append(time.perf_counter() - started)
            if features.source != "online":
                raise RuntimeError(f"order {request.order_id} fell back to PostgreSQL ({features.source})")
    return latencies, total.seconds


async def _post_all(url: str, api_key: str, bodies: list[dict], concurrency: int) -> tuple[list[float], list[dict]]:
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {api_key}"}
    latencies: list[float] = []
    answers: list[dict] = []
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as client:

        async def post(body: dict) -> None:
            async with gate:
                started = time.perf_counter()
                response = await client.post("/score", json=body)
                latencies.append(time.perf_counter() - started)
            response.raise_for_status()
            answers.append(response.json())

        await asyncio.gather(*(post(body) for body in bodies))
    return latencies, answers


def over_http(url: str, api_key: str, requests: list[FraudScoreRequest], concurrency: int) -> tuple[list[float], float]:
    bodies = [request.model_dump(mode="json") for request in requests]
    asyncio.run(_post_all(url, api_key, bodies[:WARMUP_REQUESTS], concurrency))
    with Stopwatch() as total:
        latencies, answers = asyncio.run(_post_all(url, api_key, bodies, concurrency))
    sources = {answer["features_source"] for answer in answers}
    if sources != {"online"}:
        raise RuntimeError(f"the service fell back to PostgreSQL for some orders: {sources}")
    return latencies, total.seconds


def batch_evidence(champion: ChampionModel, requests: int, report: Report) -> None:
    """Model time per row alone vs in a batch: what adaptive batching could save at most on the model side."""
    rows = pd.DataFrame(np.random.default_rng(1).uniform(0, 10, (100, len(FEATURE_COLUMNS))), columns=FEATURE_COLUMNS)
    thread_pools = ThreadpoolController()
    with thread_pools.limit(limits=1, user_api="openmp"), Stopwatch() as single:
        for position in range(requests):
            scores_of(champion.model, rows.iloc[[position % 100]])
    report.add(Measurement("model alone: predict 1 row per call", requests, single.seconds, "rows", compare_to=""))
    with thread_pools.limit(limits=1, user_api="openmp"), Stopwatch() as batched:
        for _ in range(requests // 100):
            scores_of(champion.model, rows)
    report.add(
        Measurement(
            "model alone: predict 100 rows per call", requests // 100 * 100, batched.seconds, "rows", compare_to=""
        )
    )


def bench_settings(home: str, port: int) -> Settings:
    """The stack's settings with a throwaway home (MLflow store, logs) and API key, and the server's port."""
    overrides = {"home": home, "fraud_api_key": f"bench-{uuid.uuid4().hex}", "online_feature_ttl_s": 3600}
    overrides["fraud_service_url"] = f"http://127.0.0.1:{port}"
    return Settings(**load_settings().model_dump(exclude={"home"}) | overrides)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500, help="requests per concurrency level")
    parser.add_argument("--concurrency", default="1,10,100", help="comma-separated client concurrency levels")
    parser.add_argument("--entities", type=int, default=1000, help="customers and terminals with online features")
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]
    run, port = f"bench-{uuid.uuid4().hex[:6]}", free_port()
    with tempfile.TemporaryDirectory(prefix="bench-fraud-serving-") as home:
        settings = bench_settings(home, port)
        configure_mlflow(settings)
        print(f"run {run}: training on {TRAINING_ROWS:,} synthetic rows, registering in {settings.mlflow_uri}")
        trained = train_fraud_model(training_frame(TRAINING_ROWS), holdout_days=14, params={}, table_versions={})
        register_fraud_model(settings, trained)
        champion = current_champion()
        redis = Redis.from_url(settings.redis_url)
        keys = write_online_features(redis, run, args.entities, datetime.now(UTC))
        requests = score_requests(run, args.requests, args.entities, datetime.now(UTC))
        server = start_server(settings, served_model("fraud"), port)
        print(f"fraud service up in {server.started_in_s:.1f}s on {server.url}", flush=True)
        report = Report("fraud_serving", {})
        load_before = load_average()
        try:
            with ConnectionPool(settings.postgres_url, min_size=1, max_size=1, open=True) as postgres:
                ceiling(champion, redis, postgres, requests[:WARMUP_REQUESTS], settings.online_feature_ttl_s)
                latencies, seconds = ceiling(champion, redis, postgres, requests, settings.online_feature_ttl_s)
            p50, p99 = percentiles_ms(latencies)
            ceiling_name = "ceiling: Redis read + predict in-process, 1 thread"
            report.add(Measurement(ceiling_name, len(requests), seconds, "calls", True, p50_ms=p50, p99_ms=p99))
            for level in levels:
                print(f"  HTTP at concurrency {level}", flush=True)
                latencies, seconds = over_http(server.url, settings.fraud_api_key, requests, level)
                p50, p99 = percentiles_ms(latencies)
                name = f"POST /score via BentoML, {level} concurrent"
                report.add(Measurement(name, len(requests), seconds, "requests", p50_ms=p50, p99_ms=p99))
            batch_evidence(champion, max(args.requests, 1000), report)
        finally:
            server.stop()
            redis.delete(*keys)
            redis.close()
    report.parameters.update(
        {
            "requests_per_level": args.requests,
            "concurrency": levels,
            "entities": args.entities,
            "model": f"HistGradientBoosting, {trained.params['max_iter']} iterations",
            "adaptive_batching": FraudService.apis["score"].batchable,
            "bentoml_workers": 1,
            "load_average_before": load_before,
            "load_average_after": load_average(),
        }
    )
    report.print_table()
    report.save()


if __name__ == "__main__":
    main()
