"""How a fraud model is judged: ranking metrics on the holdout, the decision thresholds, and the report figures.

The review team works a queue from the highest score down, so besides PR-AUC (average precision, the headline
metric: fraud is rare and ROC-AUC flatters a model on rare classes) we report the precision of the top ``k``
scores, with ``k`` a fixed 100 orders (a day of manual reviews) capped at the holdout size.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from sklearn.metrics import average_precision_score, confusion_matrix, precision_recall_curve, roc_auc_score

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TOP_K = 100
# The review threshold is set so that manual review still sees this share of the fraud of the validation period.
REVIEW_RECALL = 0.9
# A weak model (few labels yet) would reach that recall only by reviewing nearly every order: reviewers are a
# budget, so review at most this share of orders and accept the lower recall.
MAX_REVIEW_RATE = 0.1


@dataclass(frozen=True)
class Thresholds:
    """Scores at or above ``review`` go to manual review; at or above ``decline`` are declined outright."""

    review: float
    decline: float

    def decision(self, score: float) -> str:
        """ "approve", "review" or "decline": what happens to an order with this fraud score."""
        if score >= self.decline:
            return "decline"
        return "review" if score >= self.review else "approve"


def review_budget(orders_that_day: int) -> int:
    """How many of a day's orders the reviewers see: ``TOP_K`` a day, at most ``MAX_REVIEW_RATE`` of them (a small
    shop does not review a third of its orders)."""
    return min(TOP_K, math.ceil(MAX_REVIEW_RATE * orders_that_day))


def daily_review_queue(days: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Whether each order is in its day's review queue: the day's ``review_budget`` highest scores (ties: earlier)."""
    queue = np.zeros(len(scores), dtype=bool)
    for day in np.unique(days):
        today = np.flatnonzero(days == day)
        queue[today[np.argsort(-scores[today], kind="stable")[: review_budget(len(today))]]] = True
    return queue


class InsufficientLabels(ValueError):
    """The data has too few labelled frauds (chargebacks) in some period to train or evaluate honestly."""


def precision_at_k(labels: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Share of fraud among the ``k`` highest scores (ties keep the input order, so the result is deterministic)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    top = np.argsort(-np.asarray(scores, dtype=float), kind="stable")[:k]
    return float(np.asarray(labels)[top].mean())


def choose_thresholds(
    labels: np.ndarray,
    scores: np.ndarray,
    review_recall: float = REVIEW_RECALL,
    max_review_rate: float = MAX_REVIEW_RATE,
) -> Thresholds:
    """Decline at the F1-best score; review from the highest score that still catches ``review_recall`` of fraud,
    but never so low that more than ``max_review_rate`` of the orders would be reviewed."""
    if not 0 < int(np.sum(labels)) < len(labels):
        raise InsufficientLabels("choosing thresholds needs both fraud and legitimate orders in the validation period")
    precision, recall, cutoffs = precision_recall_curve(labels, scores)
    # The last (precision, recall) pair has no threshold: it is the "predict nothing" end of the curve.
    precision, recall = precision[:-1], recall[:-1]
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(recall), where=precision + recall > 0)
    decline = float(cutoffs[int(np.argmax(f1))])
    review = float(cutoffs[int(np.flatnonzero(recall >= review_recall).max())])
    budget = float(np.quantile(scores, 1 - max_review_rate, method="higher")) if max_review_rate < 1 else review
    return Thresholds(review=min(max(review, budget), decline), decline=decline)


def holdout_metrics(labels: np.ndarray, scores: np.ndarray, thresholds: Thresholds) -> dict[str, float]:
    if not 0 < int(np.sum(labels)) < len(labels):
        raise InsufficientLabels("the holdout needs both fraud and legitimate orders to be evaluated")
    k = min(TOP_K, len(labels))
    declined = scores >= thresholds.decline
    true_declines = int(np.sum(declined & (labels == 1)))
    return {
        "pr_auc": float(average_precision_score(labels, scores)),
        "roc_auc": float(roc_auc_score(labels, scores)),
        "precision_at_k": precision_at_k(labels, scores, k),
        "k": float(k),
        "base_rate": float(np.mean(labels)),
        "decline_precision": true_declines / max(int(declined.sum()), 1),
        "decline_recall": true_declines / int(np.sum(labels)),
        "review_rate": float(np.mean(scores >= thresholds.review)),
    }


def pr_curve_png(labels: np.ndarray, scores: np.ndarray, thresholds: Thresholds) -> bytes:
    plt = _pyplot()
    precision, recall, _ = precision_recall_curve(labels, scores)
    figure, axes = plt.subplots(figsize=(5, 4), dpi=100)
    axes.plot(recall, precision, label=f"model (AP {average_precision_score(labels, scores):.3f})")
    axes.axhline(float(np.mean(labels)), linestyle="--", color="grey", label="base rate")
    declined = scores >= thresholds.decline
    if declined.any():
        hit = labels[declined].sum()
        axes.plot(hit / labels.sum(), hit / declined.sum(), "o", color="red", label="decline threshold")
    axes.set(xlabel="recall", ylabel="precision", title="Precision-recall on the holdout", xlim=(0, 1), ylim=(0, 1.02))
    axes.legend(loc="upper right")
    return _png(plt, figure)


def confusion_matrix_png(labels: np.ndarray, scores: np.ndarray, thresholds: Thresholds) -> bytes:
    plt = _pyplot()
    matrix = confusion_matrix(labels, (scores >= thresholds.decline).astype(int), labels=[0, 1])
    figure, axes = plt.subplots(figsize=(4, 4), dpi=100)
    axes.imshow(matrix, cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        axes.text(column, row, str(count), ha="center", va="center")
    axes.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["approve", "decline"], yticklabels=["legit", "fraud"])
    axes.set(xlabel="decision", ylabel="label", title=f"Holdout at decline >= {thresholds.decline:.3f}")
    return _png(plt, figure)


def _pyplot() -> ModuleType:
    # Imported late: only training draws figures, and pyplot is slow to import.
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in CI
    import matplotlib.pyplot as plt

    return plt


def _png(plt: ModuleType, figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
