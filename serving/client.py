"""The e-commerce app's client of the fraud service: one call, bounded by ``fraud_timeout_s``.

Every way the call can fail (timeout, refused connection, 4xx/5xx, an answer that is not a score) raises
``FraudServiceError``, so the caller has one thing to catch: it accepts the order unscored and marks it for review.
"""

from __future__ import annotations

import httpx
from pydantic import ValidationError

from lakehouse.settings import Settings
from serving.fraud_schema import FraudScoreRequest, FraudScoreResponse

ScoreResult = FraudScoreResponse


class FraudServiceError(RuntimeError):
    """The fraud service gave no usable score; ``status_code`` is set when it answered with an HTTP error."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


def score_order(settings: Settings, request: FraudScoreRequest, client: httpx.Client | None = None) -> ScoreResult:
    """POST the order to ``/score``; pass a long-lived ``client`` to reuse connections across orders."""
    if client is None:
        with httpx.Client() as own:
            return score_order(settings, request, own)
    url = f"{settings.fraud_service_url.rstrip('/')}/score"
    headers = {"Authorization": f"Bearer {settings.fraud_api_key}"}
    try:
        response = client.post(
            url, json=request.model_dump(mode="json"), headers=headers, timeout=settings.fraud_timeout_s
        )
    except httpx.TimeoutException as error:
        raise FraudServiceError(f"fraud service did not answer within {settings.fraud_timeout_s}s: {url}") from error
    except httpx.TransportError as error:
        raise FraudServiceError(f"fraud service unreachable at {url}: {error}") from error
    if response.is_error:
        raise FraudServiceError(
            f"fraud service answered {response.status_code}: {response.text[:500]}", response.status_code
        )
    try:
        return ScoreResult.model_validate_json(response.content)
    except ValidationError as error:
        raise FraudServiceError(f"fraud service answered something that is not a score: {error}") from error
