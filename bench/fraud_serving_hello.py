"""A fraud service that does nothing: the same BentoML, routes, request and response types, workers and API-key
middleware as ``serving.fraud.service``, and a constant answer. ``bench/fraud_serving.py`` serves it beside the real
one, so what HTTP, BentoML and the benchmark's own client cost on this machine is measured in the same run.

    bentoml serve bench.fraud_serving_hello:FraudHello --port 3901
"""

from __future__ import annotations

from typing import Any

import bentoml

from features.fraud.spec import FEATURE_COLUMNS
from lakehouse.settings import load_settings
from serving.auth import guard_service
from serving.fraud.contract import (
    SCORE_BATCH_ROUTE,
    SCORE_ROUTE,
    FraudScoreBatchRequest,
    FraudScoreBatchResponse,
    FraudScoreRequest,
    FraudScoreResponse,
)

ZEROS = dict.fromkeys(FEATURE_COLUMNS, 0.0)


def constant_answer(order_id: str) -> FraudScoreResponse:
    return FraudScoreResponse(
        order_id=order_id,
        score=0.0,
        decision="approve",
        model_name="hello",
        model_version="0",
        features_source="online",
        features=ZEROS,
    )


@bentoml.service(name="fraud-hello", workers=load_settings().fraud_workers, traffic={"timeout": 10})
class FraudHello:
    @bentoml.api(route=SCORE_ROUTE, input_spec=FraudScoreRequest, output_spec=FraudScoreResponse)
    async def score(self, **fields: Any) -> FraudScoreResponse:
        return constant_answer(fields["order_id"])

    @bentoml.api(route=SCORE_BATCH_ROUTE, input_spec=FraudScoreBatchRequest, output_spec=FraudScoreBatchResponse)
    async def score_batch(self, **fields: Any) -> FraudScoreBatchResponse:
        return FraudScoreBatchResponse(scores=[constant_answer(order.order_id) for order in fields["orders"]])


guard_service(FraudHello, "fraud_api_key")
