"""A rolling backtest of the fraud model as it would have run: train, wait for the labels, score the next week.

For a cut-off ``until`` and a label delay ``D``, fold ``k`` of ``weeks`` (oldest first):

    training [test_start - D - train_days, test_start - D) | D days | test week [test_start, test_start + 7 days)

The last test week ends ``D`` days before ``until``, so its chargebacks have had the delay to arrive by then. The
model of a fold is fitted at ``test_start``, on labels as known then (chargebacks filed before ``test_start``);
the test week is judged on the labels known at ``until``: ranking metrics, and the share of its fraud inside each
day's review queue (``evaluation.daily_review_queue``), overall and per chargeback reason when the history has
reasons (generated fraud names its pattern: ``fraud:compromised_terminal``). Each fold fits the project's model
beside a logistic regression and a random forest on the same rows and features, so a week where the data is hard
shows as hard for all three. Plain functions over a pandas frame of the point-in-time features with each order's
first filing time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from features.fraud.spec import FEATURE_COLUMNS, LABEL_COLUMN, LABEL_DELAY_DAYS, TIMESTAMP_COLUMN
from models.fraud.evaluation import TOP_K, daily_review_queue, precision_at_k
from models.fraud.training import FAMILIES, FAMILY_PARAMS, fit_classifier, scores_of

FILED_AT = "filed_at"  # the order's first chargeback, NaT when none (yet)
REASON = "reason"  # that chargeback's reason, when the history has one (generated fraud names its pattern)
TEST_DAYS = 7
# Short names: they prefix the MLflow metrics of each fold.
MODELS = FAMILIES


@dataclass(frozen=True)
class BacktestPlan:
    until: datetime
    label_delay_days: float = LABEL_DELAY_DAYS
    weeks: int = 4
    train_days: int = 28

    def __post_init__(self) -> None:
        if self.until.tzinfo is None:
            raise ValueError("until: give a timezone-aware time (UTC)")
        if self.weeks < 1 or self.train_days < 1 or self.label_delay_days < 0:
            raise ValueError("weeks and train_days must be at least 1, label_delay_days at least 0")

    def folds(self) -> list[Fold]:
        delay, last_end = timedelta(days=self.label_delay_days), self.until - timedelta(days=self.label_delay_days)
        folds = []
        for back in range(self.weeks - 1, -1, -1):
            test_end = last_end - timedelta(days=TEST_DAYS * back)
            test_start = test_end - timedelta(days=TEST_DAYS)
            train_end = test_start - delay
            folds.append(Fold(train_end - timedelta(days=self.train_days), train_end, test_start, test_end))
        return folds


@dataclass(frozen=True)
class Fold:
    train_start: datetime
    train_end: datetime
    test_start: datetime
    test_end: datetime


@dataclass(frozen=True)
class FoldResult:
    fold: Fold
    train_rows: int
    train_frauds: int
    test_rows: int
    test_frauds: int
    metrics: dict[str, dict[str, float]]  # model short name -> pr_auc, roc_auc, precision_at_k
    skipped: str | None = None  # why the fold could not be judged


def fitters(train: pd.DataFrame) -> dict[str, Callable[[], object]]:
    """How each model of ``MODELS`` is fitted on ``train`` (``FEATURE_COLUMNS`` and the label), not yet called."""
    return {name: (lambda name=name: fit_classifier(train, FAMILY_PARAMS[name], name)) for name in MODELS}


def best_family(means: dict[str, float]) -> str:
    """The model with the best mean PR-AUC over the judged weeks (``summary``); the project's on a tie or when no
    week could be judged."""
    scored = {name: means[f"{name}_pr_auc_mean"] for name in MODELS if f"{name}_pr_auc_mean" in means}
    if not scored or scored.get("project") == max(scored.values()):
        return "project"
    return max(scored, key=scored.__getitem__)


def metric_name(reason: str) -> str:
    """A chargeback reason as part of an MLflow metric name (letters, digits and underscores)."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", reason).strip("_") or "unknown"


def _judged(test: pd.DataFrame, labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Ranking metrics, and the share of fraud inside each day's review queue, overall and per chargeback reason."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    days = ((test[TIMESTAMP_COLUMN] - test[TIMESTAMP_COLUMN].min()) // pd.Timedelta(days=1)).to_numpy()
    caught = daily_review_queue(days, scores) & (labels == 1)
    metrics = {
        "pr_auc": float(average_precision_score(labels, scores)),
        "roc_auc": float(roc_auc_score(labels, scores)),
        "precision_at_k": precision_at_k(labels, scores, min(TOP_K, len(labels))),
        "recall_at_budget": float(caught.sum() / labels.sum()),
    }
    if REASON in test.columns:
        reasons = test[REASON].fillna("").to_numpy()
        for reason in sorted(set(reasons[labels == 1]) - {""}):
            of_reason = (reasons == reason) & (labels == 1)
            metrics[f"recall_{metric_name(reason)}"] = float(caught[of_reason].sum() / of_reason.sum())
    return metrics


def run_fold(frame: pd.DataFrame, fold: Fold, until: datetime) -> FoldResult:
    placed = frame[TIMESTAMP_COLUMN]
    train = frame[(placed >= fold.train_start) & (placed < fold.train_end)].copy()
    train[LABEL_COLUMN] = (frame.loc[train.index, FILED_AT] < fold.test_start).astype(int)  # NaT: False
    test = frame[(placed >= fold.test_start) & (placed < fold.test_end)]
    test_labels = (test[FILED_AT] <= until).astype(int).to_numpy()
    counts = (len(train), int(train[LABEL_COLUMN].sum()), len(test), int(test_labels.sum()))
    if not 0 < counts[1] < counts[0] or not 0 < counts[3] < counts[2]:
        why = "no fraud known" if counts[1] == 0 or counts[3] == 0 else "only fraud"
        return FoldResult(fold, *counts, metrics={}, skipped=f"{why} in the training rows or the test week")
    metrics = {}
    # One OpenMP thread, as in training: the folds are small and the machine is shared.
    with ThreadpoolController().limit(limits=1):
        for name, fit in fitters(train).items():
            metrics[name] = _judged(test, test_labels, scores_of(fit(), test[list(FEATURE_COLUMNS)]))
    return FoldResult(fold, *counts, metrics=metrics)


def run_backtest(
    frame: pd.DataFrame, plan: BacktestPlan, progress: Callable[[str], None] | None = None
) -> list[FoldResult]:
    """Every fold of ``plan`` over ``frame`` (``FEATURE_COLUMNS``, ``placed_at`` and ``filed_at``, aware UTC)."""
    results = []
    for number, fold in enumerate(plan.folds(), start=1):
        result = run_fold(frame, fold, plan.until)
        results.append(result)
        if progress:
            progress(describe_fold(number, result))
    return results


def describe_fold(number: int, result: FoldResult) -> str:
    fold = result.fold
    head = (
        f"week {number}: test {fold.test_start:%Y-%m-%d}..{fold.test_end:%Y-%m-%d} "
        f"({result.test_rows:,} orders, {result.test_frauds} fraud), trained on {result.train_rows:,} "
        f"({result.train_frauds} fraud known)"
    )
    if result.skipped:
        return f"{head}: skipped, {result.skipped}"
    scores = ", ".join(f"{name} PR-AUC {m['pr_auc']:.3f}" for name, m in result.metrics.items())
    return f"{head}: {scores}"


def summary(results: list[FoldResult]) -> dict[str, float]:
    """Mean of each model's metrics over the judged weeks: ``<model>_<metric>_mean``, plus ``weeks_judged``."""
    judged = [r for r in results if not r.skipped]
    means: dict[str, float] = {"weeks_judged": float(len(judged))}
    for name in MODELS:
        for metric in ("pr_auc", "roc_auc", "precision_at_k", "recall_at_budget"):
            values = [r.metrics[name][metric] for r in judged]
            if values:
                means[f"{name}_{metric}_mean"] = float(np.mean(values))
    return means


def results_table(results: list[FoldResult]) -> pd.DataFrame:
    """One row per week and model: what the MLflow run keeps as ``backtest/weeks.csv``."""
    rows = []
    for number, result in enumerate(results, start=1):
        base = {
            "week": number,
            "test_start": result.fold.test_start.isoformat(),
            "test_end": result.fold.test_end.isoformat(),
            "train_rows": result.train_rows,
            "train_frauds": result.train_frauds,
            "test_rows": result.test_rows,
            "test_frauds": result.test_frauds,
        }
        if result.skipped:
            rows.append(base | {"model": None, "skipped": result.skipped})
        rows.extend(base | {"model": name} | metrics for name, metrics in result.metrics.items())
    return pd.DataFrame(rows)
