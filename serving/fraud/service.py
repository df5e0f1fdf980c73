"""The fraud scoring service: the e-commerce app posts an order, gets its fraud score and what to do with it.

Serves the registry's ``champion`` version of the fraud model, loaded once when a worker starts (restart the
server to pick up a new champion). ``POST /score`` scores one order; ``POST /score/batch`` up to
``MAX_BATCH_ORDERS`` in one call (more is a 413). Both need ``Authorization: Bearer <fraud_api_key>``; the Swagger UI
(``/``, also reached from ``/docs``), the OpenAPI spec (``/docs.json``), ``/metrics`` and the health probes do not.

Serve it from the project root with the ``LAKEHOUSE_*`` environment of the store and stack to use:
``bentoml serve serving.fraud.service:FraudService --host 127.0.0.1 --port 3001``
(``lakehouse serve fraud``, or ``serving.server.start_server`` for the main job and the tests, does that).
``fraud_workers`` processes serve it (BentoML sums ``/metrics`` over them, in Prometheus' multiprocess mode).

Every order, alone or in a batch, goes through ``_score_orders``: one pipelined Redis read for the batch, PostgreSQL
only for entities missing or stale online, one model call on an array. Concurrent ``/score`` requests share batches
(``serving.fraud.coalescing``). The blocking readers run in threads, never on the event loop.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import bentoml
import numpy as np
from psycopg_pool import ConnectionPool
from redis import Redis
from starlette.responses import JSONResponse

from lakehouse.mlflow_store import configure_mlflow
from lakehouse.settings import load_settings
from models.fraud import FRAUD_MODEL_NAME
from models.fraud.registry import current_champion
from serving.auth import guard_service
from serving.fraud.coalescing import Coalescer
from serving.fraud.contract import (
    MAX_BATCH_ORDERS,
    SCORE_BATCH_ROUTE,
    SCORE_ROUTE,
    FraudScoreBatchRequest,
    FraudScoreBatchResponse,
    FraudScoreRequest,
    FraudScoreResponse,
)
from serving.fraud.features import orders_features
from serving.fraud.model import FraudScorer

STORE_TIMEOUT_S = 0.3  # per Redis call: the app waits fraud_timeout_s for the whole answer


@bentoml.service(name="fraud", workers=load_settings().fraud_workers, traffic={"timeout": 10})
class FraudService:
    def __init__(self) -> None:
        self.settings = load_settings()
        configure_mlflow(self.settings)
        champion = current_champion(FRAUD_MODEL_NAME)
        if champion is None:
            raise RuntimeError(
                f"no 'champion' version of {FRAUD_MODEL_NAME!r} in {self.settings.mlflow_uri}: train first"
            )
        self.scorer = FraudScorer.from_champion(champion)
        self.max_age_s = self.settings.online_feature_ttl_s
        # Text replies, decoded by hiredis in C: the feature reader then has nothing to decode itself.
        self.redis = Redis.from_url(self.settings.redis_url, socket_timeout=STORE_TIMEOUT_S, decode_responses=True)
        self.postgres = ConnectionPool(self.settings.postgres_url, min_size=1, max_size=4, open=True, name="fraud")
        self.decisions = bentoml.metrics.Counter(
            name="fraud_decisions_total", documentation="Scored orders by decision", labelnames=["decision"]
        )
        self.single_orders = Coalescer(self._score_orders, self.settings.fraud_max_coalesced_orders)

    def _score_orders(self, requests: list[FraudScoreRequest]) -> list[FraudScoreResponse]:
        """Blocking (Redis, PostgreSQL, the model): called in a worker thread."""
        features = orders_features(self.redis, self.postgres, requests, datetime.now(UTC), self.max_age_s)
        scores = self.scorer.scores(np.array([order.vector for order in features], dtype=np.float64))
        answers = [
            FraudScoreResponse(
                order_id=request.order_id,
                score=score,
                decision=self.scorer.decision(score),
                model_name=self.scorer.name,
                model_version=self.scorer.version,
                features_source=order.source,
                features=order.values,
            )
            for request, order, score in zip(requests, features, scores.tolist(), strict=True)
        ]
        # One increment per decision and batch: each is a locked write to the multiprocess metrics file.
        for decision, count in Counter(answer.decision for answer in answers).items():
            self.decisions.labels(decision=decision).inc(count)
        return answers

    @bentoml.api(route=SCORE_ROUTE, input_spec=FraudScoreRequest, output_spec=FraudScoreResponse)
    async def score(self, **fields: Any) -> FraudScoreResponse:
        """Fraud score of one order, what to do with it, and the features it was scored on."""
        request = FraudScoreRequest(**fields)  # BentoML validated the body already; this gives it its type back
        return await self.single_orders.submit(request)

    @bentoml.api(route=SCORE_BATCH_ROUTE, input_spec=FraudScoreBatchRequest, output_spec=FraudScoreBatchResponse)
    def score_batch(self, **fields: Any) -> FraudScoreBatchResponse | JSONResponse:
        """One answer per order (as /score gives), in the order sent; more than MAX_BATCH_ORDERS orders is a 413."""
        orders: list[FraudScoreRequest] = fields["orders"]
        if len(orders) > MAX_BATCH_ORDERS:
            return _too_many(len(orders))
        return FraudScoreBatchResponse(scores=self._score_orders(orders))

    @bentoml.on_shutdown
    async def close(self) -> None:
        await self.single_orders.close()
        self.redis.close()
        self.postgres.close()


def _too_many(count: int) -> JSONResponse:
    message = f"a batch holds at most {MAX_BATCH_ORDERS} orders, this one has {count}: split it"
    detail = [{"loc": ["orders"], "msg": message, "type": "too_long"}]
    return JSONResponse({"error": message, "detail": detail}, status_code=HTTPStatus.REQUEST_ENTITY_TOO_LARGE)


guard_service(
    FraudService,
    "fraud_api_key",
    responses={(SCORE_BATCH_ROUTE, 413): f"more than {MAX_BATCH_ORDERS} orders: split the batch"},
)
