"""Training the sentiment classifier: logistic regression on MiniLM sentence embeddings, with the sources weighted
by what a held-out source shows.

GoEmotions (Reddit) is large and close to chat, but mixed in at full weight it made the model worse on review-style
text it had not seen. So its per-row weight is chosen from ``GOEMOTIONS_WEIGHTS`` by what held-out texts show:
each review source left out in turn (the model fitted on the rest), and a validation share of GoEmotions, each
counting the same. Within each source the two classes weigh the same (GoEmotions is 66% positive, reviews 50%).

Which rows are held out is decided by a hash of the text, not by chance: the same text is held out in every run,
whatever the sample, so the current champion (trained under the same rule) is judged on rows it never saw.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from models.sentiment import evaluation
from models.sentiment.data import GOEMOTIONS, SOURCES, UCI_SOURCES, hash_fraction
from models.sentiment.encoder import DIMENSION, MiniLMEncoder


def _encoder_columns() -> tuple[str, ...]:
    tag = hashlib.sha256(MiniLMEncoder().version.encode()).hexdigest()[:8]  # reads configs only, not the weights
    return tuple(f"minilm_{tag}_{index:03d}" for index in range(DIMENSION))


# The classifier's inputs, named for the installed encoder's version: the registry's champion gate compares only
# models fitted on the same columns, so a champion fitted on another encoder's vectors is replaced, not re-scored
# on vectors it never learned from.
EMBEDDING_COLUMNS = _encoder_columns()
HOLDOUT_SHARE = 0.2
VALIDATION_SHARE = 0.2  # of the GoEmotions training rows, to choose its weight
GOEMOTIONS_WEIGHTS = (0.0, 0.1, 0.3, 1.0)
DEFAULT_PARAMS: dict[str, object] = {"C": 2.0, "max_iter": 2000}
# A source beyond the reference sets (moderators' reviews from the apps) counts in the champion gate only with this
# many held-out texts: below it, one or two reviewed messages would move a whole source's share of the mean.
MIN_GATE_ROWS = 30


@dataclass(frozen=True)
class SentimentFit:
    """A fitted classifier and how its GoEmotions weight was chosen (weight -> mean held-out-source accuracy)."""

    model: LogisticRegression
    goemotions_weight: float
    selection: dict[float, float]


@dataclass(frozen=True)
class TrainedSentiment:
    fit: SentimentFit
    params: dict[str, object]
    metrics: dict[str, float]
    holdout: pd.DataFrame = field(repr=False)  # text, label, source of the held-out rows
    holdout_embeddings: np.ndarray = field(repr=False)
    figures: dict[str, bytes] = field(repr=False)


def holdout_mask(texts: pd.Series, share: float = HOLDOUT_SHARE) -> np.ndarray:
    return np.array([hash_fraction(text, "holdout") < share for text in texts], dtype=bool)


def source_weight(source: str, goemotions_weight: float) -> float:
    """A source's per-row weight before class balancing: ``goemotions_weight`` for GoEmotions, 1.0 for every other
    source, moderators' reviews from the apps included. GoEmotions is turned down because a different kind of text
    at full weight hurt the rest; reviews are human labels on the very texts the model scores, so that reason does
    not hold for them, and they are too few (and too new) to hold out a share for choosing a weight of their own."""
    return goemotions_weight if source == GOEMOTIONS else 1.0


def row_weights(rows: pd.DataFrame, goemotions_weight: float) -> np.ndarray:
    """Each row's weight: its source's (``source_weight``) times its class's balancing factor within the source,
    so a source's two classes weigh the same."""
    counts = rows.groupby(["source", "label"])["label"].transform("size").to_numpy(dtype=float)
    per_source = rows.groupby("source")["label"].transform("size").to_numpy(dtype=float)
    classes = rows.groupby("source")["label"].transform("nunique").to_numpy(dtype=float)
    weights = rows["source"].map(lambda source: source_weight(source, goemotions_weight)).to_numpy(dtype=float)
    return weights * per_source / (classes * counts)


def gate_accuracy(per_source: dict[str, dict[str, float]]) -> float:
    """The champion gate's metric: the mean per-source holdout accuracy over the reference sources, and over each
    other source (moderators' reviews) once it has ``MIN_GATE_ROWS`` held-out texts. Reviews are judged per source
    in every run (``holdout_<source>_*`` metrics) either way."""
    counted = {source: m for source, m in per_source.items() if source in SOURCES or m["rows"] >= MIN_GATE_ROWS}
    return evaluation.macro_accuracy(counted or per_source)


def as_features(embeddings: np.ndarray) -> pd.DataFrame:
    """Embeddings as the classifier's named columns (their names tie a model to the encoder it was fitted on)."""
    return pd.DataFrame(np.asarray(embeddings, dtype=np.float64), columns=list(EMBEDDING_COLUMNS))


def positive_probability(model: LogisticRegression, embeddings: np.ndarray) -> np.ndarray:
    """P(positive) per row, the one way training, the registry, tests and the scorer call the model. Columns are
    named as the model was fitted: which encoder it needs is checked where it is loaded (``scorer``)."""
    columns = list(getattr(model, "feature_names_in_", EMBEDDING_COLUMNS))
    features = pd.DataFrame(np.asarray(embeddings, dtype=np.float64), columns=columns)
    return model.predict_proba(features)[:, 1]


def fit_weighted(
    rows: pd.DataFrame, embeddings: np.ndarray, goemotions_weight: float, params: dict[str, object]
) -> LogisticRegression:
    weights = row_weights(rows, goemotions_weight)
    keep = weights > 0
    if rows["label"][keep].nunique() < 2:
        raise ValueError("training needs both positive and negative texts")
    model = LogisticRegression(**params)
    # One BLAS thread: on 2 cores shared with Spark and the services, more threads spin against each other.
    with threadpool_limits(1, user_api="blas"):
        return model.fit(as_features(embeddings[keep]), rows["label"].to_numpy()[keep], sample_weight=weights[keep])


def fit_sentiment(rows: pd.DataFrame, embeddings: np.ndarray, params: dict[str, object]) -> SentimentFit:
    """Choose the GoEmotions weight on held-out texts (``selection_score``), then fit on every row with it."""
    reviews = tuple(source for source in UCI_SOURCES if source in set(rows["source"]))
    if len(reviews) < 2 or GOEMOTIONS not in set(rows["source"]):
        # Nothing to weigh, or no review source left to train on when one is held out.
        return SentimentFit(fit_weighted(rows, embeddings, 1.0, params), 1.0, {})
    selection = {weight: selection_score(rows, embeddings, params, weight, reviews) for weight in GOEMOTIONS_WEIGHTS}
    best = max(selection, key=lambda weight: (selection[weight], -weight))  # ties: the smaller weight
    return SentimentFit(fit_weighted(rows, embeddings, best, params), best, selection)


def selection_score(
    rows: pd.DataFrame, embeddings: np.ndarray, params: dict[str, object], weight: float, reviews: tuple[str, ...]
) -> float:
    """Mean accuracy, each source judged on texts the model did not learn from: every review source left out in
    turn (a kind of text never seen), and a validation share of the GoEmotions comments (the kind closest to chat)."""
    fit = _fitter(params, weight)
    left_out = evaluation.leave_one_source_out(rows, embeddings, fit, rows, embeddings, sources=reviews)
    accuracies = [metrics["accuracy"] for metrics in left_out.values()]
    comments = rows["source"].to_numpy() == GOEMOTIONS
    validation = comments & np.array([hash_fraction(text, "validation") < VALIDATION_SHARE for text in rows["text"]])
    if validation.any():
        predict = fit(rows[~validation].reset_index(drop=True), embeddings[~validation])
        labels = rows["label"].to_numpy()[validation]
        accuracies.append(evaluation.source_metrics(labels, predict(embeddings[validation]))["accuracy"])
    return float(np.mean(accuracies))


def _fitter(params: dict[str, object], weight: float) -> evaluation.FitFn:
    def fit(rows: pd.DataFrame, embeddings: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        model = fit_weighted(rows, embeddings, weight, params)
        return lambda other: positive_probability(model, other)

    return fit


def sentiment_fitter(params: dict[str, object]) -> evaluation.FitFn:
    """The whole training recipe (weight choice included) as a fit function, for leave-one-source-out checks."""

    def fit(rows: pd.DataFrame, embeddings: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        model = fit_sentiment(rows, embeddings, params).model
        return lambda other: positive_probability(model, other)

    return fit


def train_sentiment_model(
    rows: pd.DataFrame, embeddings: np.ndarray, params: dict[str, object] | None = None
) -> TrainedSentiment:
    """Fit on the rows outside the holdout; judge on the holdout and on each review source left out."""
    chosen = DEFAULT_PARAMS | (params or {})
    held = holdout_mask(rows["text"])
    train, train_x = rows[~held].reset_index(drop=True), embeddings[~held]
    holdout, holdout_x = rows[held].reset_index(drop=True), embeddings[held]
    fitted = fit_sentiment(train, train_x, chosen)
    scores = positive_probability(fitted.model, holdout_x)
    on_holdout = evaluation.per_source_metrics(holdout, scores)
    left_out = evaluation.leave_one_source_out(train, train_x, sentiment_fitter(chosen), rows, embeddings)
    metrics = {
        "holdout_accuracy": gate_accuracy(on_holdout),
        **evaluation.flat_metrics("holdout", on_holdout),
        **evaluation.flat_metrics("loso", left_out),
        "train_rows": float(len(train)),
        "goemotions_weight": fitted.goemotions_weight,
    }
    if left_out:
        metrics["loso_accuracy"] = evaluation.macro_accuracy(left_out)
    title = f"Holdout ({len(holdout)} texts, every source)"
    figures = {"confusion_matrix.png": evaluation.confusion_matrix_png(holdout["label"].to_numpy(), scores, title)}
    return TrainedSentiment(fitted, chosen, metrics, holdout, holdout_x, figures)
