"""Synthetic fraud training rows where fraud is learnable: it follows an unusually large amount for the customer or a
risky terminal, with a few labels flipped as noise. Shared by the training, registry and service tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features.fraud.spec import FEATURE_COLUMNS, LABEL_COLUMN, ORDER_KEY, TIMESTAMP_COLUMN

if TYPE_CHECKING:
    from models.fraud.training import TrainedModel

START = datetime(2024, 1, 1, tzinfo=UTC)


def synthetic_orders(rows: int = 3000, days: int = 60, seed: int = 7, label_noise: float = 0.02) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    placed_at = pd.Series(sorted(START + timedelta(seconds=float(s)) for s in rng.uniform(0, days * 86400, rows)))
    customer_avg = rng.lognormal(3.5, 0.5, rows)
    amount = customer_avg * rng.lognormal(0.0, 0.6, rows)
    terminal_risk = rng.beta(1, 40, (rows, 3))
    hours = placed_at.dt.hour.to_numpy()
    at_terminal = rng.poisson(3, rows)
    features = {
        "amount": amount,
        "amount_to_customer_avg_30d": amount / customer_avg,
        "hour_of_day": hours,
        "is_weekend": (placed_at.dt.dayofweek >= 5).astype(float).to_numpy(),
        "is_night": (hours < 6).astype(float),
        **{f"customer_orders_{d}d": rng.poisson(d / 3, rows) for d in (1, 7, 30)},
        **{f"customer_spend_{d}d": rng.poisson(d / 3, rows) * customer_avg for d in (1, 7, 30)},
        "customer_avg_amount_30d": customer_avg,
        **{f"terminal_orders_{d}d": rng.poisson(d * 5, rows) for d in (1, 7, 30)},
        **{f"terminal_risk_{d}d": terminal_risk[:, i] for i, d in enumerate((1, 7, 30))},
        "customer_terminal_orders_30d": at_terminal,
        "new_terminal_for_customer_30d": (at_terminal == 0).astype(float),
    }
    fraud = (features["amount_to_customer_avg_30d"] > 2.5) | (terminal_risk[:, 1] > 0.07)
    flipped = rng.random(rows) < label_noise
    frame = pd.DataFrame({name: np.asarray(features[name], dtype=float) for name in FEATURE_COLUMNS})
    frame[LABEL_COLUMN] = (fraud ^ flipped).astype(int)
    frame[TIMESTAMP_COLUMN] = placed_at
    frame[ORDER_KEY] = [f"o-{seed}-{i:06d}" for i in range(rows)]
    return frame


def small_trained_model() -> TrainedModel:
    """A quickly trained fraud model (20 boosting rounds on 1,200 synthetic orders) for tests that need one to serve."""
    from models.fraud.training import train_fraud_model  # scikit-learn's import is slow: only these tests need it

    return train_fraud_model(
        synthetic_orders(1200, seed=21), holdout_days=14, params={"max_iter": 20}, table_versions={}
    )
