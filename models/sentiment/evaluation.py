"""How a sentiment model is judged: accuracy and F1 per source, on rows it never saw.

Two questions. *Does it work on a kind of text it was never trained on?* Leave one review source (Amazon, IMDb,
Yelp) out of training entirely and score all of it: chat and social posts are such a new kind of text.
*Does it still work on its own sources?* Score the held-out share of every source (GoEmotions included). The
champion gate compares the mean of the per-source holdout accuracies, so a large source does not drown the others.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from types import ModuleType

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from models.sentiment.data import UCI_SOURCES

# Fits a model on (rows, their embeddings) and returns P(positive) for other embeddings.
FitFn = Callable[[pd.DataFrame, np.ndarray], Callable[[np.ndarray], np.ndarray]]


def source_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    predicted = (np.asarray(probabilities) >= 0.5).astype(int)
    return {
        "accuracy": float(accuracy_score(labels, predicted)),
        "f1": float(f1_score(labels, predicted, zero_division=0.0)),
        "rows": float(len(labels)),
    }


def per_source_metrics(rows: pd.DataFrame, probabilities: np.ndarray) -> dict[str, dict[str, float]]:
    """Metrics of each source in ``rows`` (``label``, ``source``), given the model's P(positive) for every row."""
    probabilities = np.asarray(probabilities)
    return {
        str(source): source_metrics(rows["label"].to_numpy()[index], probabilities[index])
        for source, index in rows.groupby("source").indices.items()
    }


def macro_accuracy(metrics: dict[str, dict[str, float]]) -> float:
    """The mean of the per-source accuracies: each source counts the same, whatever its size."""
    return float(np.mean([values["accuracy"] for values in metrics.values()]))


def leave_one_source_out(
    rows: pd.DataFrame,
    embeddings: np.ndarray,
    fit: FitFn,
    evaluated: pd.DataFrame,
    evaluated_embeddings: np.ndarray,
    sources: tuple[str, ...] = UCI_SOURCES,
) -> dict[str, dict[str, float]]:
    """For each of ``sources``: fit on ``rows`` of every other source, score all ``evaluated`` rows of it."""
    results = {}
    for source in sources:
        train = (rows["source"] != source).to_numpy()
        test = (evaluated["source"] == source).to_numpy()
        if not test.any():
            continue
        predict = fit(rows[train].reset_index(drop=True), embeddings[train])
        results[source] = source_metrics(evaluated["label"].to_numpy()[test], predict(evaluated_embeddings[test]))
    return results


def flat_metrics(prefix: str, metrics: dict[str, dict[str, float]]) -> dict[str, float]:
    """``{source: {name: value}}`` as MLflow metric names, e.g. ``loso_amazon_accuracy``."""
    return {f"{prefix}_{source}_{name}": value for source, values in metrics.items() for name, value in values.items()}


def confusion_matrix_png(labels: np.ndarray, probabilities: np.ndarray, title: str) -> bytes:
    plt = _pyplot()
    matrix = confusion_matrix(labels, (np.asarray(probabilities) >= 0.5).astype(int), labels=[0, 1])
    figure, axes = plt.subplots(figsize=(4, 4), dpi=100)
    axes.imshow(matrix, cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        axes.text(column, row, str(count), ha="center", va="center")
    labels_ = ["negative", "positive"]
    axes.set(xticks=[0, 1], yticks=[0, 1], xticklabels=labels_, yticklabels=labels_)
    axes.set(xlabel="predicted", ylabel="label", title=title)
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def _pyplot() -> ModuleType:
    # Imported late: only training draws figures, and pyplot is slow to import.
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in CI
    import matplotlib.pyplot as plt

    return plt
