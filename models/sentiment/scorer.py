"""What serving and the score command use: the champion sentiment model with its encoder, as one ``predict``.

The registered model is a classifier on embeddings; the encoder it was fitted with is named on its version
(``encoder`` tag). Loading refuses a champion whose encoder differs from the installed one: its scores would be
meaningless, and quietly so.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression

from lakehouse.mlflow_store import configure_mlflow
from lakehouse.settings import Settings
from models import registry
from models.sentiment import SENTIMENT_MODEL_NAME
from models.sentiment.encoder import MiniLMEncoder
from models.sentiment.training import positive_probability


class NoSentimentChampion(LookupError):
    """The registry has no usable champion of the sentiment model."""


class SentimentScorer:
    """Labels (1 positive, 0 negative) and P(positive) for texts, from one registered model version."""

    def __init__(
        self,
        model: LogisticRegression,
        model_name: str,
        model_version: str,
        encoder: MiniLMEncoder,
        threshold: float = 0.5,
    ) -> None:
        self.model = model
        self.model_name = model_name
        self.model_version = model_version
        self.encoder = encoder
        self.threshold = threshold

    def predict(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(labels 0/1, P(positive)), one of each per text, in order."""
        if not texts:
            return np.zeros(0, dtype=int), np.zeros(0, dtype=float)
        scores = positive_probability(self.model, self.encoder.encode(list(texts)))
        return (scores >= self.threshold).astype(int), scores


def load_champion(settings: Settings, model_name: str = SENTIMENT_MODEL_NAME) -> SentimentScorer:
    """The version the ``champion`` alias points at, with the encoder; ``NoSentimentChampion`` when there is none."""
    configure_mlflow(settings)
    champion = registry.load_champion(model_name)
    if champion is None:
        raise NoSentimentChampion(
            f"no champion of model {model_name!r} in the MLflow store {settings.mlflow_uri}: "
            "train one first (the sentiment_training job, or models.sentiment.registry.train_and_register)"
        )
    encoder = MiniLMEncoder()
    if champion.tags.get("encoder") != encoder.version:
        raise NoSentimentChampion(
            f"{model_name} v{champion.version} was trained on encoder {champion.tags.get('encoder')!r}, but "
            f"{encoder.version!r} is installed: retrain it"
        )
    threshold = float(champion.tags.get("decision_threshold", 0.5))
    return SentimentScorer(champion.model, champion.name, champion.version, encoder, threshold)
