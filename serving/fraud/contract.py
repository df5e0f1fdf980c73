"""The fraud service's wire contract: what a caller sends to have an order scored, what it gets back, and the one
call that does it (bounded by a timeout).

This module imports nothing of this project (only pydantic, httpx and the standard library): the e-commerce app
imports it, and only it, to call the service without loading BentoML, the model or the feature code.

Every way the call can fail (timeout, refused connection, 4xx/5xx, an answer that is not a score) raises
``FraudServiceError``, so the caller has one thing to catch: it accepts the order unscored and marks it for review.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

Decision = Literal["approve", "review", "decline"]
# "online": both entities' features came fresh from Redis; otherwise PostgreSQL recomputed the ones that were
# missing or stale, and the source names the worst case ("missing" wins over "stale").
FeaturesSource = Literal["online", "fallback:missing", "fallback:stale"]
SCORE_ROUTE = "/score"
SCORE_BATCH_ROUTE = "/score/batch"
# Orders per batch call: 1,000 score in well under a second on one busy core; more is a 413 asking to split.
MAX_BATCH_ORDERS = 1000


class FraudScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: str = Field(min_length=1, max_length=64)
    customer_id: str = Field(min_length=1, max_length=64)
    terminal_id: str = Field(min_length=1, max_length=64)
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    placed_at: datetime  # a time without zone is read as UTC, as the e-commerce app does


class FraudScoreResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_id: str
    score: float = Field(ge=0, le=1, description="probability that the order is fraud")
    decision: Decision
    model_name: str
    model_version: str
    features_source: FeaturesSource
    features: dict[str, float] = Field(description="the model's input, in the model's column order")


class FraudScoreBatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    orders: list[FraudScoreRequest] = Field(
        min_length=1,
        description=f"1 to {MAX_BATCH_ORDERS} orders; more is a 413",
        json_schema_extra={"maxItems": MAX_BATCH_ORDERS},  # checked by the service, which answers 413, not 400
    )


class FraudScoreBatchResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    scores: list[FraudScoreResponse] = Field(description="one per order, in the order sent")


class FraudServiceError(RuntimeError):
    """The fraud service gave no usable score; ``status_code`` is set when it answered with an HTTP error."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


def score_order(
    request: FraudScoreRequest,
    *,
    url: str,
    api_key: str,
    timeout_s: float,
    client: httpx.Client | None = None,
) -> FraudScoreResponse:
    """POST the order to the service at ``url`` (its base address) with ``Authorization: Bearer <api_key>``;
    pass a long-lived ``client`` to reuse connections across orders."""
    if client is None:
        with httpx.Client() as own:
            return score_order(request, url=url, api_key=api_key, timeout_s=timeout_s, client=own)
    response = _post(client, f"{url.rstrip('/')}{SCORE_ROUTE}", request.model_dump(mode="json"), api_key, timeout_s)
    try:
        return FraudScoreResponse.model_validate_json(response.content)
    except ValidationError as error:
        raise FraudServiceError(f"fraud service answered something that is not a score: {error}") from error


def score_orders(
    requests: list[FraudScoreRequest], *, url: str, api_key: str, timeout_s: float, client: httpx.Client | None = None
) -> list[FraudScoreResponse]:
    """POST up to ``MAX_BATCH_ORDERS`` orders in one call; the answers come in the order sent."""
    if client is None:
        with httpx.Client() as own:
            return score_orders(requests, url=url, api_key=api_key, timeout_s=timeout_s, client=own)
    body = FraudScoreBatchRequest(orders=requests).model_dump(mode="json")
    answer = _post(client, f"{url.rstrip('/')}{SCORE_BATCH_ROUTE}", body, api_key, timeout_s)
    try:
        return FraudScoreBatchResponse.model_validate_json(answer.content).scores
    except ValidationError as error:
        raise FraudServiceError(f"fraud service answered something that is not scores: {error}") from error


def _post(client: httpx.Client, endpoint: str, body: dict, api_key: str, timeout_s: float) -> httpx.Response:
    headers = {"Authorization": f"Bearer {api_key}"}
    try:
        response = client.post(endpoint, json=body, headers=headers, timeout=timeout_s)
    except httpx.TimeoutException as error:
        raise FraudServiceError(f"fraud service did not answer within {timeout_s}s: {endpoint}") from error
    except httpx.TransportError as error:
        raise FraudServiceError(f"fraud service unreachable at {endpoint}: {error}") from error
    if response.is_error:
        raise FraudServiceError(
            f"fraud service answered {response.status_code}: {response.text[:500]}", response.status_code
        )
    return response
