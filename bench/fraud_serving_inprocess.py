"""The in-process references of bench/fraud_serving.py: the service's own functions called in this process, with no
HTTP, no BentoML and no second process, on the same orders and Redis features as the HTTP runs.

- the ceiling: batches of orders, each batch one pipelined Redis read and one model call (what ``/score/batch`` does);
- the single-order loop: one Redis read and one one-row model call per order (what ``/score`` did per request);
- the model alone: one row per call on a DataFrame (how the service called it before), on an array, and 100 rows.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from psycopg_pool import ConnectionPool
from redis import Redis

from bench.report import Measurement, Report, Stopwatch
from features.fraud.spec import FEATURE_COLUMNS
from models.fraud.training import scores_of
from serving.fraud.contract import FraudScoreRequest
from serving.fraud.features import OrderFeatures, orders_features
from serving.fraud.model import FraudScorer, one_openmp_thread


def _checked_online(features: list[OrderFeatures]) -> None:
    fallen = {order.source for order in features} - {"online"}
    if fallen:
        raise RuntimeError(f"orders fell back to PostgreSQL ({fallen}): the ceiling must read Redis only")


def score_in_batches(
    scorer: FraudScorer,
    redis: Redis,
    postgres: ConnectionPool,
    requests: list[FraudScoreRequest],
    batch_size: int,
    ttl_s: int,
) -> tuple[list[float], float]:
    """Per-batch latencies and the total time to score every order in batches of ``batch_size``."""
    latencies = []
    with Stopwatch() as total:
        for start in range(0, len(requests), batch_size):
            started = time.perf_counter()
            features = orders_features(redis, postgres, requests[start : start + batch_size], datetime.now(UTC), ttl_s)
            scores = scorer.scores(np.array([order.vector for order in features]))
            [scorer.decision(score) for score in scores.tolist()]
            latencies.append(time.perf_counter() - started)
            _checked_online(features)
    return latencies, total.seconds


def score_one_by_one(
    scorer: FraudScorer, redis: Redis, postgres: ConnectionPool, requests: list[FraudScoreRequest], ttl_s: int
) -> tuple[list[float], float]:
    return score_in_batches(scorer, redis, postgres, requests, 1, ttl_s)


def model_alone(scorer: FraudScorer, model: object, calls: int, report: Report) -> None:
    """Model time per row: one row per call on a DataFrame (the old service path) and on an array, and 100 rows."""
    rows = np.random.default_rng(1).uniform(0, 10, (100, len(FEATURE_COLUMNS)))
    frame = pd.DataFrame(rows, columns=list(FEATURE_COLUMNS))
    one_openmp_thread()
    with Stopwatch() as on_frames:
        for position in range(calls):
            scores_of(model, frame.iloc[[position % 100]])
    old = report.add(Measurement("model alone: 1 row per call, DataFrame (before)", calls, on_frames.seconds, "rows"))
    with Stopwatch() as on_arrays:
        for position in range(calls):
            scorer.scores(rows[position % 100 : position % 100 + 1])
    report.add(Measurement("model alone: 1 row per call, array", calls, on_arrays.seconds, "rows", compare_to=old.name))
    with Stopwatch() as batched:
        for _ in range(calls // 100):
            scorer.scores(rows)
    name = "model alone: 100 rows per call, array"
    report.add(Measurement(name, calls // 100 * 100, batched.seconds, "rows", compare_to=old.name))
