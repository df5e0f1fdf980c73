"""The fraud backtest's weeks and labels, on synthetic feature rows: where each week's training ends, which labels
a fold may know, and the three models judged on the same rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from fraud_synthetic import START, synthetic_orders

from features.fraud.spec import LABEL_COLUMN, TIMESTAMP_COLUMN
from models.fraud.backtest import FILED_AT, MODELS, BacktestPlan, Fold, run_backtest, run_fold, summary

DAY = timedelta(days=1)


def frame_with_filings(rows: int = 3000, days: int = 90, delay: timedelta = 7 * DAY) -> pd.DataFrame:
    """Synthetic feature rows whose frauds are charged back ``delay`` after the order."""
    frame = synthetic_orders(rows, days=days, seed=4)
    frame[TIMESTAMP_COLUMN] = pd.to_datetime(frame[TIMESTAMP_COLUMN], utc=True)
    frame[FILED_AT] = frame[TIMESTAMP_COLUMN].where(frame[LABEL_COLUMN] == 1) + delay
    return frame.drop(columns=[LABEL_COLUMN])


def test_the_last_week_ends_a_label_delay_before_the_cutoff_and_training_a_delay_before_its_week() -> None:
    until = datetime(2025, 6, 1, tzinfo=UTC)
    folds = BacktestPlan(until, label_delay_days=7, weeks=3, train_days=28).folds()
    assert [fold.test_end for fold in folds] == [until - 21 * DAY, until - 14 * DAY, until - 7 * DAY]
    for fold in folds:
        assert fold.test_end - fold.test_start == 7 * DAY
        assert (fold.test_start - fold.train_end, fold.train_end - fold.train_start) == (7 * DAY, 28 * DAY)


def test_a_fold_trains_on_the_labels_known_at_its_week_and_judges_on_those_known_at_the_cutoff() -> None:
    frame = frame_with_filings(delay=10 * DAY)  # longer than the 7-day gap: the last 3 training days lack labels
    until = START + 80 * DAY
    fold = Fold(START + 20 * DAY, START + 48 * DAY, START + 55 * DAY, START + 62 * DAY)
    result = run_fold(frame, fold, until)
    placed = frame[TIMESTAMP_COLUMN]
    in_training = frame[(placed >= fold.train_start) & (placed < fold.train_end)]
    assert result.train_rows == len(in_training)
    assert result.train_frauds == int((in_training[FILED_AT] < fold.test_start).sum())
    assert result.train_frauds < int(in_training[FILED_AT].notna().sum())  # some frauds were not known yet
    assert result.skipped is None and set(result.metrics) == set(MODELS)
    for metrics in result.metrics.values():
        assert 0 <= metrics["pr_auc"] <= 1 and 0 <= metrics["roc_auc"] <= 1
    # The synthetic fraud is learnable: every model ranks it well above chance.
    assert min(m["roc_auc"] for m in result.metrics.values()) > 0.7


def test_weeks_without_known_fraud_are_skipped_with_the_reason_and_left_out_of_the_means() -> None:
    frame = frame_with_filings(days=90)
    until = START + 90 * DAY
    honest_early = frame[FILED_AT].where(frame[TIMESTAMP_COLUMN] >= START + 40 * DAY)  # no fraud known before day 40
    results = run_backtest(frame.assign(**{FILED_AT: honest_early}), BacktestPlan(until, 7, weeks=6, train_days=14))
    skipped = [r for r in results if r.skipped]
    assert skipped and all("no fraud known" in r.skipped for r in skipped)
    means = summary(results)
    assert means["weeks_judged"] == len(results) - len(skipped) > 0
    judged = [r for r in results if not r.skipped]
    assert means["project_pr_auc_mean"] == pytest.approx(
        sum(r.metrics["project"]["pr_auc"] for r in judged) / len(judged)
    )


def test_a_plan_refuses_a_naive_cutoff_and_empty_windows() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        BacktestPlan(datetime(2025, 6, 1))
    with pytest.raises(ValueError, match="at least 1"):
        BacktestPlan(datetime(2025, 6, 1, tzinfo=UTC), weeks=0)


def test_recall_at_the_review_budget_is_reported_per_chargeback_reason() -> None:
    frame = frame_with_filings()
    frame["reason"] = frame[FILED_AT].notna().map({True: "fraud:amount", False: None})
    frame.loc[frame[FILED_AT].notna() & (frame.index % 2 == 0), "reason"] = "fraud:terminal"
    fold = Fold(START + 20 * DAY, START + 48 * DAY, START + 55 * DAY, START + 62 * DAY)
    metrics = run_fold(frame, fold, START + 80 * DAY).metrics["project"]
    assert {"recall_at_budget", "recall_fraud_amount", "recall_fraud_terminal"} <= set(metrics)
    assert all(0 <= metrics[name] <= 1 for name in metrics if name.startswith("recall"))
    # Every fraud has one of the two reasons: overall recall lies between the two.
    low, high = sorted((metrics["recall_fraud_amount"], metrics["recall_fraud_terminal"]))
    assert low <= metrics["recall_at_budget"] <= high
