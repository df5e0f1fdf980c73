"""The anomaly service's wire contract: what a caller sends to have a device's readings scored, what it gets back,
and the one call that does it (bounded by a timeout).

This module imports nothing of this project (only pydantic, httpx and the standard library), so any domain may
import it to call the service without loading BentoML, MLflow or the detector.

Two shapes of request: ``readings`` (a device's recent readings, scored in order from a fresh detector state, as
``lakehouse score anomaly`` scores a file) or ``reading`` (one reading, scored in the context of the device's live
state, which the service reads but never changes). Every way the call can fail raises ``AnomalyServiceError``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SCORE_ROUTE = "/score"
MAX_READINGS = 20_000  # about 4 s of scoring on one core: a bigger history belongs to `lakehouse score anomaly`
StateSource = Literal["fresh", "device", "none"]  # none: the device has no live state yet (no history)


class ReadingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ts: datetime = Field(description="when the device measured it; a time without zone is read as UTC")
    value: float = Field(allow_inf_nan=False)


class AnomalyScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str = Field(min_length=1, max_length=128)
    sensor: str = Field(min_length=1, max_length=64)
    model_id: str | None = Field(
        default=None, max_length=128, description="the device model; default: the registry's model of the device"
    )
    readings: list[ReadingIn] | None = Field(
        default=None, min_length=1, max_length=MAX_READINGS, description="in time order, scored from a fresh state"
    )
    reading: ReadingIn | None = Field(default=None, description="one reading, scored after the device's live state")

    @model_validator(mode="after")
    def _one_shape(self) -> AnomalyScoreRequest:
        if (self.readings is None) == (self.reading is None):
            raise ValueError("send exactly one of 'readings' (a series) or 'reading' (one reading)")
        if self.readings is not None:
            for index, (before, after) in enumerate(zip(self.readings, self.readings[1:], strict=False), start=1):
                if _utc_seconds(after.ts) <= _utc_seconds(before.ts):
                    raise ValueError(f"readings[{index}].ts is not after readings[{index - 1}].ts: send them in order")
        return self


def _utc_seconds(ts: datetime) -> float:
    return (ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)).timestamp()


class ReadingScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    ts: datetime
    value: float
    anomaly_score: float = Field(ge=0, le=1, description="0: nothing unusual; 1: a record over 2,000 readings")
    alert: bool


class AnomalyScoreResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    device_id: str
    sensor: str
    model_id: str | None
    sampling_seconds: float = Field(description="the cadence the detector's settings were taken for")
    state: StateSource = Field(description="what the scores continue from")
    history: int = Field(description="readings the device's state had seen before these")
    scores: list[ReadingScore]
    model_name: str
    model_version: str


class AnomalyServiceError(RuntimeError):
    """The anomaly service gave no usable answer; ``status_code`` is set when it answered with an HTTP error."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


def score_readings(
    request: AnomalyScoreRequest, *, url: str, api_key: str, timeout_s: float, client: httpx.Client | None = None
) -> AnomalyScoreResponse:
    """POST ``request`` to the service at ``url`` (its base address) with ``Authorization: Bearer <api_key>``."""
    if client is None:
        with httpx.Client() as own:
            return score_readings(request, url=url, api_key=api_key, timeout_s=timeout_s, client=own)
    endpoint = f"{url.rstrip('/')}{SCORE_ROUTE}"
    headers = {"Authorization": f"Bearer {api_key}"}
    body = request.model_dump(mode="json", exclude_none=True)
    try:
        response = client.post(endpoint, json=body, headers=headers, timeout=timeout_s)
    except httpx.TimeoutException as error:
        raise AnomalyServiceError(f"anomaly service did not answer within {timeout_s}s: {endpoint}") from error
    except httpx.TransportError as error:
        raise AnomalyServiceError(f"anomaly service unreachable at {endpoint}: {error}") from error
    if response.is_error:
        raise AnomalyServiceError(
            f"anomaly service answered {response.status_code}: {response.text[:500]}", response.status_code
        )
    try:
        return AnomalyScoreResponse.model_validate_json(response.content)
    except ValidationError as error:
        raise AnomalyServiceError(f"anomaly service answered something that is not a score: {error}") from error
