"""The fraud service's HTTP contract: what the e-commerce app sends to have an order scored and what it gets back.

Kept apart from the BentoML service so the app's client can use it without importing BentoML or the model.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Decision = Literal["approve", "review", "decline"]
# "online": both entities' features came fresh from Redis; otherwise PostgreSQL recomputed the ones that were
# missing or stale, and the source names the worst case ("missing" wins over "stale").
FeaturesSource = Literal["online", "fallback:missing", "fallback:stale"]


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
