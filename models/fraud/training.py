"""Training the fraud model on the point-in-time feature table, split by time the way it will be used.

The last ``holdout_days`` of orders are the holdout: the model is fitted only on orders placed before it, as it
would be in production, where it always scores orders newer than everything it learned from. The decision
thresholds are chosen on the last ``VALIDATION_SHARE`` of the training period (a model fitted on the earlier part
scores it), then the model is refitted on the whole training period with the same parameters.

Caveat: a chargeback arrives weeks after its order, so the most recent labels undercount fraud; the feature table
decides which chargebacks count (those known at the training cut-off).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import ThreadpoolController

from features.fraud.spec import FEATURE_COLUMNS, LABEL_COLUMN, LABEL_DELAY_DAYS, ORDER_KEY, TIMESTAMP_COLUMN
from models.fraud import evaluation
from models.fraud.evaluation import InsufficientLabels, Thresholds

VALIDATION_SHARE = 0.2
# Balanced class weights because fraud is ~1% of orders; no early stopping, as its validation split is random
# and would mix periods.
DEFAULT_PARAMS: dict[str, object] = {
    "max_iter": 200,
    "learning_rate": 0.1,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 20,
    "l2_regularization": 0.0,
    "class_weight": "balanced",
    "early_stopping": False,
    "random_state": 0,
}


# The model families the backtest compares on the same rows; ``lakehouse train fraud`` registers the one with the
# best mean PR-AUC over its weeks (the gate then compares it with the champion on the holdout).
FAMILIES = {
    "project": "gradient boosting (the project's model)",
    "logreg": "logistic regression",
    "forest": "random forest",
}
FAMILY_PARAMS: dict[str, dict[str, object]] = {
    "project": DEFAULT_PARAMS,
    "logreg": {"C": 1.0, "class_weight": "balanced", "max_iter": 1000},
    "forest": {
        "n_estimators": 200,
        "max_depth": 10,
        "class_weight": "balanced_subsample",
        "n_jobs": 1,  # one core: the machine is shared, and the service scores in one thread
        "random_state": 0,
    },
}


def _known(family: str) -> str:
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}; choose one of {', '.join(FAMILIES)}")
    return family


def make_classifier(family: str, params: dict[str, object]) -> ClassifierMixin:
    """An unfitted model of ``family`` (a key of ``FAMILIES``); the logistic regression standardises first."""
    if _known(family) == "project":
        return HistGradientBoostingClassifier(**params)
    if family == "logreg":
        return make_pipeline(StandardScaler(), LogisticRegression(**params))
    return RandomForestClassifier(**params)


@dataclass(frozen=True)
class Holdout:
    """Which orders the model was judged on: the same rows judge the current champion."""

    start: datetime
    end: datetime
    rows: int
    frauds: int
    order_ids_sha256: str
    features: pd.DataFrame = field(repr=False)
    labels: np.ndarray = field(repr=False)

    def definition(self) -> dict[str, object]:
        return {
            "rule": f"{TIMESTAMP_COLUMN} >= start (the last days of the data); trained on earlier orders only",
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "rows": self.rows,
            "frauds": self.frauds,
            "order_ids_sha256": self.order_ids_sha256,
        }


@dataclass(frozen=True)
class TrainedModel:
    model: ClassifierMixin
    params: dict[str, object]
    thresholds: Thresholds
    metrics: dict[str, float]
    holdout: Holdout
    table_versions: dict[str, int]
    figures: dict[str, bytes] = field(repr=False)  # file name -> PNG
    feature_columns: tuple[str, ...] = FEATURE_COLUMNS
    label_delay_days: float = LABEL_DELAY_DAYS  # the features' (``features.fraud.spec``), recorded with the model
    family: str = "project"  # a key of FAMILIES


def train_fraud_model(
    training: pd.DataFrame,
    *,
    holdout_days: int,
    params: dict[str, object],
    table_versions: dict[str, int],
    label_delay_days: float = LABEL_DELAY_DAYS,
    family: str = "project",
) -> TrainedModel:
    """Fit on orders before the holdout, choose thresholds on the end of that period, evaluate on the holdout."""
    train, test = split_by_time(_checked(training), holdout_days)
    chosen = FAMILY_PARAMS[_known(family)] | params
    # One OpenMP thread: on 2 shared cores the gradient boosting's thread pool made training 4x slower at 1M rows
    # (bench/fraud_training.py), and the service predicts with one thread too.
    with ThreadpoolController().limit(limits=1, user_api="openmp"):
        thresholds = _thresholds_from_validation(train, chosen, family)
        model = fit_classifier(train, chosen, family)
    holdout = _holdout(test, holdout_days)
    scores = scores_of(model, holdout.features)
    metrics = evaluation.holdout_metrics(holdout.labels, scores, thresholds)
    metrics |= {"train_rows": float(len(train)), "train_frauds": float(train[LABEL_COLUMN].sum())}
    figures = {
        "pr_curve.png": evaluation.pr_curve_png(holdout.labels, scores, thresholds),
        "confusion_matrix.png": evaluation.confusion_matrix_png(holdout.labels, scores, thresholds),
    }
    return TrainedModel(
        model,
        chosen,
        thresholds,
        metrics,
        holdout,
        dict(table_versions),
        figures,
        label_delay_days=label_delay_days,
        family=family,
    )


def split_by_time(frame: pd.DataFrame, holdout_days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(orders before the holdout, orders of the last ``holdout_days`` of the data); never shuffled across time."""
    if holdout_days <= 0:
        raise ValueError(f"holdout_days must be positive, got {holdout_days}")
    start = frame[TIMESTAMP_COLUMN].max() - timedelta(days=holdout_days)
    train, holdout = frame[frame[TIMESTAMP_COLUMN] < start], frame[frame[TIMESTAMP_COLUMN] >= start]
    if train.empty:
        raise InsufficientLabels(f"no orders before the holdout: the data spans less than {holdout_days} days")
    return train, holdout


def fit_classifier(rows: pd.DataFrame, params: dict[str, object], family: str = "project") -> ClassifierMixin:
    if rows[LABEL_COLUMN].nunique() < 2:
        raise InsufficientLabels("the training period needs both fraud and legitimate orders")
    model = make_classifier(family, params)
    return model.fit(rows[list(FEATURE_COLUMNS)], rows[LABEL_COLUMN].to_numpy())


def _thresholds_from_validation(train: pd.DataFrame, params: dict[str, object], family: str) -> Thresholds:
    cut = train[TIMESTAMP_COLUMN].quantile(1 - VALIDATION_SHARE)
    early, validation = train[train[TIMESTAMP_COLUMN] < cut], train[train[TIMESTAMP_COLUMN] >= cut]
    scores = scores_of(fit_classifier(early, params, family), validation[list(FEATURE_COLUMNS)])
    return evaluation.choose_thresholds(validation[LABEL_COLUMN].to_numpy(), scores)


def _holdout(test: pd.DataFrame, holdout_days: int) -> Holdout:
    ids = "\n".join(sorted(test[ORDER_KEY].astype(str)))
    end = test[TIMESTAMP_COLUMN].max()
    return Holdout(
        start=(end - timedelta(days=holdout_days)).to_pydatetime(),
        end=end.to_pydatetime(),
        rows=len(test),
        frauds=int(test[LABEL_COLUMN].sum()),
        order_ids_sha256=hashlib.sha256(ids.encode()).hexdigest(),
        features=test[list(FEATURE_COLUMNS)].reset_index(drop=True),
        labels=test[LABEL_COLUMN].to_numpy(dtype=int),
    )


def _checked(training: pd.DataFrame) -> pd.DataFrame:
    """The training rows in time order, features as floats, timestamps in UTC; a clear error if a column is missing."""
    missing = [c for c in (*FEATURE_COLUMNS, LABEL_COLUMN, TIMESTAMP_COLUMN, ORDER_KEY) if c not in training.columns]
    if missing:
        raise ValueError(f"training data lacks column(s) {missing}")
    frame = training.copy()
    frame[TIMESTAMP_COLUMN] = pd.to_datetime(frame[TIMESTAMP_COLUMN], utc=True)
    frame[list(FEATURE_COLUMNS)] = frame[list(FEATURE_COLUMNS)].astype("float64")
    frame[LABEL_COLUMN] = frame[LABEL_COLUMN].astype(int)
    return frame.sort_values([TIMESTAMP_COLUMN, ORDER_KEY], kind="stable").reset_index(drop=True)


def scores_of(model: ClassifierMixin, features: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Fraud probabilities, the one way training, the registry, tests and the service call the model. The service
    passes float arrays in ``FEATURE_COLUMNS`` order to a copy without fitted names (``serving.fraud.model``)."""
    return model.predict_proba(features)[:, 1]
