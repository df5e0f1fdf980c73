"""Fraud serving: orders/s and latency (p50, p99, slowest) through the real BentoML server, each beside a baseline
measured in the same run, with the load average before and after.

- The ceiling: the same features read (one pipelined Redis read per batch) and scored (one model call per batch)
  in this process, no HTTP; the single-order loop (one read and one one-row call per order) is a second reference.
- ``POST /score`` at each client concurrency, beside a BentoML service that does nothing
  (``bench/fraud_serving_hello.py``: same routes, types, workers and API-key check) at the same concurrency.
- ``POST /score/batch`` of ``--batch-size`` orders, beside the ceiling and the do-nothing service.
- The model alone: one row per call on a DataFrame (the old service path), on an array, 100 rows per call.

    .venv/bin/python -m bench.fraud_serving --requests 1000 --concurrency 1,10,100

Needs the local stack (Redis, PostgreSQL: `lakehouse stack up`). The model is trained on synthetic rows and
registered in a temporary MLflow store; online features for ``--entities`` customers and terminals are written to
Redis under run-unique ids (deleted at the end). Prints a table and writes bench/results/fraud_serving.json.
"""

from __future__ import annotations

import argparse
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from redis import Redis

from bench.fraud_serving_figures import free_port, run_figures
from features.fraud.online import pair_fields
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
from models.fraud.registry import current_champion, register_fraud_model
from models.fraud.training import train_fraud_model
from serving.fraud.contract import FraudScoreRequest

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
        "customer_terminal_orders_30d": (at_terminal := rng.poisson(2, rows)),
        "new_terminal_for_customer_30d": at_terminal == 0,
    }
    frame = pd.DataFrame({name: np.asarray(columns[name], dtype=float) for name in FEATURE_COLUMNS})
    fraud = (columns["amount_to_customer_avg_30d"] > 2.5) | (risk[:, 1] > 0.07)
    frame[LABEL_COLUMN] = (fraud ^ (rng.random(rows) < 0.02)).astype(int)
    frame[TIMESTAMP_COLUMN] = placed_at
    frame[ORDER_KEY] = [f"o{i}" for i in range(rows)]
    return frame


def write_online_features(redis: Redis, run: str, entities: int, now: datetime) -> list[str]:
    """One fresh hash per customer and terminal (laid out as ``features.fraud.online.write_online`` does: a customer
    has counts at a few terminals); returns keys."""
    rng = np.random.default_rng(5)
    keys, pipe = [], redis.pipeline(transaction=False)
    for number in range(entities):
        customer = dict(zip(CUSTOMER_FEATURES, rng.uniform(0, 50, len(CUSTOMER_FEATURES)), strict=True))
        used = {f"{run}-t{t}": int(rng.integers(1, 5)) for t in rng.integers(entities, size=3)}
        customer |= {name: float(value) for name, value in pair_fields(used).items()}
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


def bench_settings(home: str, port: int) -> Settings:
    """The stack's settings with a throwaway home (MLflow store, logs) and API key, and the server's port."""
    overrides = {"home": home, "fraud_api_key": f"bench-{uuid.uuid4().hex}", "online_feature_ttl_s": 3600}
    overrides["fraud_service_url"] = f"http://127.0.0.1:{port}"
    return Settings(**load_settings().model_dump(exclude={"home"}) | overrides)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="single-order requests per concurrency level")
    parser.add_argument("--concurrency", default="1,10,100", help="comma-separated client concurrency levels")
    parser.add_argument("--entities", type=int, default=1000, help="customers and terminals with online features")
    parser.add_argument("--batch-size", type=int, default=1000, help="orders per /score/batch call and ceiling batch")
    parser.add_argument("--batch-calls", type=int, default=20, help="/score/batch calls per concurrency level")
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]
    run = f"bench-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory(prefix="bench-fraud-serving-") as home:
        settings = bench_settings(home, free_port())
        configure_mlflow(settings)
        print(f"run {run}: training on {TRAINING_ROWS:,} synthetic rows, registering in {settings.mlflow_uri}")
        trained = train_fraud_model(training_frame(TRAINING_ROWS), holdout_days=14, params={}, table_versions={})
        register_fraud_model(settings, trained)
        redis = Redis.from_url(settings.redis_url)
        keys = write_online_features(redis, run, args.entities, datetime.now(UTC))
        orders = max(args.requests, args.batch_size * args.batch_calls)
        requests = score_requests(run, orders, args.entities, datetime.now(UTC))
        try:
            report = run_figures(settings, current_champion(), redis, requests, args, levels)
        finally:
            redis.delete(*keys)
            redis.close()
    report.parameters["model"] = f"HistGradientBoosting, {trained.params['max_iter']} iterations"
    report.print_table()
    report.save()


if __name__ == "__main__":
    main()
