"""Fraud model training: the time split, the ranking metrics, the thresholds and the champion rule, on small data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from fraud_synthetic import synthetic_orders

from features.fraud.spec import FEATURE_COLUMNS, LABEL_COLUMN, ORDER_KEY, TIMESTAMP_COLUMN
from models.fraud.evaluation import Thresholds, choose_thresholds, holdout_metrics, precision_at_k
from models.fraud.training import split_by_time, train_fraud_model

SMALL = {"max_iter": 30}  # keeps the test fast; the defaults are for real data


def daily_orders(days: int) -> pd.DataFrame:
    start = datetime(2024, 5, 1, 12, tzinfo=UTC)
    return pd.DataFrame(
        {ORDER_KEY: [f"o{d}" for d in range(days)], TIMESTAMP_COLUMN: [start + timedelta(days=d) for d in range(days)]}
    )


@pytest.fixture(scope="module")
def trained():
    return train_fraud_model(
        synthetic_orders(2000, seed=3), holdout_days=14, params=SMALL, table_versions={"gold.fraud_training": 4}
    )


def test_the_holdout_is_the_last_days_and_every_training_order_is_older():
    train, holdout = split_by_time(daily_orders(10), holdout_days=3)
    # The last order is on day 9: the holdout starts on day 6, that day included.
    assert list(holdout[ORDER_KEY]) == ["o6", "o7", "o8", "o9"]
    assert list(train[ORDER_KEY]) == ["o0", "o1", "o2", "o3", "o4", "o5"]
    assert train[TIMESTAMP_COLUMN].max() < holdout[TIMESTAMP_COLUMN].min()


def test_a_holdout_longer_than_the_data_is_refused():
    with pytest.raises(ValueError, match="less than 12 days"):
        split_by_time(daily_orders(10), holdout_days=12)
    with pytest.raises(ValueError, match="positive"):
        split_by_time(daily_orders(10), holdout_days=0)


def test_the_model_learns_fraud_well_above_the_base_rate(trained):
    metrics = trained.metrics
    assert metrics["pr_auc"] > max(0.6, 3 * metrics["base_rate"])
    assert metrics["roc_auc"] > 0.85
    assert 0 < trained.thresholds.review <= trained.thresholds.decline < 1


def test_the_holdout_is_recorded_with_its_rows(trained):
    data = synthetic_orders(2000, seed=3)
    expected = data[data[TIMESTAMP_COLUMN] >= data[TIMESTAMP_COLUMN].max() - timedelta(days=14)]
    assert trained.holdout.rows == len(expected) == len(trained.holdout.features)
    assert trained.holdout.frauds == int(expected[LABEL_COLUMN].sum())
    assert list(trained.holdout.features.columns) == list(FEATURE_COLUMNS)
    assert trained.metrics["train_rows"] == len(data) - len(expected)
    assert trained.metrics["k"] == 100
    assert trained.table_versions == {"gold.fraud_training": 4}
    assert all(png.startswith(b"\x89PNG") for png in trained.figures.values())
    assert set(trained.figures) == {"pr_curve.png", "confusion_matrix.png"}


def test_training_is_repeatable(trained):
    again = train_fraud_model(synthetic_orders(2000, seed=3), holdout_days=14, params=SMALL, table_versions={})
    assert again.metrics["pr_auc"] == trained.metrics["pr_auc"]
    assert again.thresholds == trained.thresholds


def test_missing_columns_are_named():
    data = synthetic_orders(200).drop(columns=["terminal_risk_7d", LABEL_COLUMN])
    with pytest.raises(ValueError, match=r"\['terminal_risk_7d', 'is_fraud'\]"):
        train_fraud_model(data, holdout_days=7, params=SMALL, table_versions={})


def test_precision_at_k_counts_fraud_among_the_highest_scores():
    labels = np.array([1, 0, 1, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.95])
    assert precision_at_k(labels, scores, 1) == 0.0  # 0.95 is legitimate
    assert precision_at_k(labels, scores, 2) == 0.5  # + 0.9, fraud
    assert precision_at_k(labels, scores, 3) == pytest.approx(1 / 3)  # + 0.8, legitimate
    assert precision_at_k(labels, scores, 10) == 0.4  # all five orders
    with pytest.raises(ValueError):
        precision_at_k(labels, scores, 0)


def test_thresholds_decline_at_the_best_f1_and_review_to_catch_most_fraud():
    # One fraud hides at the lowest score; the other three are the top three.
    labels = np.array([1, 0, 0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.7, 0.8, 0.9])
    # Declining from 0.7 catches 3 of 4 with no false alarm: F1 6/7, better than any other cut-off.
    # Catching 90% of fraud needs all four: review from 0.1.
    unlimited = 1.0
    assert choose_thresholds(labels, scores, 0.9, unlimited) == Thresholds(review=0.1, decline=0.7)
    assert choose_thresholds(labels, scores, 0.75, unlimited) == Thresholds(review=0.7, decline=0.7)


def test_review_threshold_respects_the_review_budget():
    # 20 orders scored 0.00, 0.05, ..., 0.95; one fraud at the top, one hiding at the very bottom.
    labels = np.array([1] + [0] * 18 + [1])
    scores = np.arange(20) / 20
    # Decline at 0.95 (F1 2/3). Catching 90% of fraud would mean reviewing all 20 orders from 0.00;
    # a 10% budget allows 2 of 20: review from 0.90.
    assert choose_thresholds(labels, scores, 0.9, 1.0) == Thresholds(review=0.0, decline=0.95)
    assert choose_thresholds(labels, scores, 0.9, 0.1) == Thresholds(review=0.9, decline=0.95)


def test_decisions_follow_the_thresholds():
    thresholds = Thresholds(review=0.1, decline=0.7)
    assert [thresholds.decision(s) for s in (0.0, 0.099, 0.1, 0.69, 0.7, 1.0)] == [
        "approve", "approve", "review", "review", "decline", "decline",
    ]  # fmt: skip


def test_holdout_metrics_on_a_hand_made_holdout():
    labels = np.array([1, 0, 1, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.2])
    metrics = holdout_metrics(labels, scores, Thresholds(review=0.5, decline=0.85))
    # Ranked: fraud, legit, fraud, legit -> AP = 1/2 * 1 + 1/2 * 2/3.
    assert metrics["pr_auc"] == pytest.approx(5 / 6)
    assert metrics["roc_auc"] == pytest.approx(3 / 4)
    assert metrics["k"] == 4 and metrics["precision_at_k"] == 0.5
    assert (metrics["decline_precision"], metrics["decline_recall"], metrics["review_rate"]) == (1.0, 0.5, 0.75)
    with pytest.raises(ValueError, match="both fraud and legitimate"):
        holdout_metrics(np.zeros(4), scores, Thresholds(0.5, 0.85))
