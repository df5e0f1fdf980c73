"""The texts a training run learns from with their embeddings: read from the sources, sampled, encoded through the
on-disk cache. One function, so the Dagster training-data asset and ``train_and_register`` see the same rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lakehouse.settings import Settings
from models.sentiment.data import training_rows
from models.sentiment.embedding_cache import EmbeddingCache
from models.sentiment.encoder import MiniLMEncoder


@dataclass(frozen=True)
class EmbeddedTexts:
    rows: pd.DataFrame = field(repr=False)  # text, label, source
    embeddings: np.ndarray = field(repr=False)  # one unit vector per row
    encoder: MiniLMEncoder


def embedded_training_rows(
    settings: Settings,
    *,
    sample: int | None,
    extra: pd.DataFrame | None = None,
    progress: Callable[[str], None] = print,
) -> EmbeddedTexts:
    """Every source (at most ``sample`` rows each) plus ``extra`` labelled rows, with their embeddings."""
    rows = training_rows(settings.shared_data_dir, sample=sample, extra=extra)
    encoder = MiniLMEncoder()
    embeddings = EmbeddingCache(settings.cache_dir, encoder).embed(rows["text"].tolist(), progress)
    return EmbeddedTexts(rows, embeddings, encoder)
