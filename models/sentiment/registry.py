"""The sentiment model in the registry (``models.registry``): a trained classifier logged and registered as a version
of ``SENTIMENT_MODEL_NAME``, with the encoder it needs, and the champion gate on the mean per-source holdout accuracy.

MLflow is slow to import: callers that seldom train (the CLI) import this module inside the command.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace

import pandas as pd
from sklearn.linear_model import LogisticRegression

from lakehouse.settings import Settings
from models.registry import Candidate, ModelEntry, RegistryOutcome, register_candidate
from models.sentiment import SENTIMENT_EXPERIMENT_NAME, SENTIMENT_MODEL_NAME, evaluation
from models.sentiment.dataset import embedded_training_rows
from models.sentiment.encoder import ENCODER_PACKAGE, MiniLMEncoder
from models.sentiment.training import (
    EMBEDDING_COLUMNS,
    HOLDOUT_SHARE,
    TrainedSentiment,
    as_features,
    gate_accuracy,
    positive_probability,
    source_weight,
    train_sentiment_model,
)

DECISION_THRESHOLD = 0.5  # P(positive) at or above it is labelled positive
SENTIMENT_MODEL = ModelEntry(
    name=SENTIMENT_MODEL_NAME,
    experiment=SENTIMENT_EXPERIMENT_NAME,
    metric="holdout_accuracy",
    metric_label="mean per-source holdout accuracy",
    predict_fn="predict_proba",
)


def train_and_register(
    settings: Settings,
    *,
    sample: int | None,
    extra: pd.DataFrame | None = None,
    progress: Callable[[str], None] = print,
    params: dict[str, object] | None = None,
    model_name: str = SENTIMENT_MODEL_NAME,
) -> RegistryOutcome:
    """Train on every source (at most ``sample`` rows each, plus ``extra`` labelled rows ``text,label,source``),
    log the run, register a version; it becomes the champion only with a higher mean holdout accuracy."""
    texts = embedded_training_rows(settings, sample=sample, extra=extra, progress=progress)
    progress(f"training on {len(texts.rows)} texts from {texts.rows['source'].nunique()} sources")
    trained = train_sentiment_model(texts.rows, texts.embeddings, params)
    accuracy = trained.metrics["holdout_accuracy"]
    progress(f"GoEmotions weight {trained.fit.goemotions_weight}; mean holdout accuracy {accuracy:.4f}")
    offered = {} if extra is None else {str(src): int(n) for src, n in extra["source"].value_counts().items()}
    return register_sentiment_model(
        settings, trained, texts.encoder, texts.rows, sample=sample, model_name=model_name, extra_rows=offered
    )


def register_sentiment_model(
    settings: Settings,
    trained: TrainedSentiment,
    encoder: MiniLMEncoder,
    rows: pd.DataFrame,
    *,
    sample: int | None,
    model_name: str = SENTIMENT_MODEL_NAME,
    extra_rows: dict[str, int] | None = None,
) -> RegistryOutcome:
    """Log and register ``trained``; ``extra_rows`` counts the extra labelled rows offered per source (e.g. moderators'
    reviews) before sampling, so the run says how many there were even when none were trained on."""

    def accuracy_on_holdout(model: LogisticRegression) -> float:
        scores = positive_probability(model, trained.holdout_embeddings)
        return gate_accuracy(evaluation.per_source_metrics(trained.holdout, scores))

    entry = replace(SENTIMENT_MODEL, name=model_name)
    recorded = candidate(trained, encoder, rows, sample, extra_rows or {})
    return register_candidate(settings, entry, recorded, accuracy_on_holdout)


def candidate(
    trained: TrainedSentiment,
    encoder: MiniLMEncoder,
    rows: pd.DataFrame,
    sample: int | None,
    extra_rows: dict[str, int] | None = None,
) -> Candidate:
    """What the registry records of a trained sentiment model; its version names the encoder it needs."""
    sources = sorted(set(rows["source"]))
    weights = {source: source_weight(source, trained.fit.goemotions_weight) for source in sources}
    extra_rows = extra_rows or {}
    return Candidate(
        model=trained.fit.model,
        params={"classifier": "LogisticRegression", **trained.params},
        metrics=trained.metrics,
        holdout=holdout_definition(trained.holdout),
        table_versions={},
        feature_columns=EMBEDDING_COLUMNS,
        input_example=as_features(trained.holdout_embeddings[:5]),
        figures=trained.figures,
        extra_params={
            "sources": ",".join(sources),
            **{f"weight.{source}": weight for source, weight in weights.items()},
            **{f"rows.{source}": int(count) for source, count in rows["source"].value_counts().items()},
            "extra_rows": sum(extra_rows.values()),
            **{f"extra_rows.{source}": count for source, count in extra_rows.items()},
            "goemotions_weight_selection": json.dumps(trained.fit.selection),
            "sample": "all" if sample is None else sample,
            "encoder.package": ENCODER_PACKAGE,
            "encoder.package_version": encoder.package_version,
            "encoder.pooling": f"{encoder.pooling} of tokens under the attention mask, then L2-normalised",
            "encoder.max_tokens": encoder.max_tokens,
            "decision_threshold": DECISION_THRESHOLD,
        },
        version_tags={"encoder": encoder.version, "decision_threshold": str(DECISION_THRESHOLD)},
    )


def holdout_definition(holdout: pd.DataFrame) -> dict[str, object]:
    texts = "\n".join(sorted(holdout["text"]))
    return {
        "rule": f"sha256('holdout:' + text) as a fraction < {HOLDOUT_SHARE}: the same texts in every run",
        "rows": len(holdout),
        **{f"rows_{source}": int(count) for source, count in holdout["source"].value_counts().items()},
        "texts_sha256": hashlib.sha256(texts.encode()).hexdigest(),
    }
