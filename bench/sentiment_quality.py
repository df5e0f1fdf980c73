"""Sentiment model quality on review sources it never saw, beside two baselines from the same run, and the speed of
the numpy MiniLM encoder.

For each UCI source (Amazon, IMDb, Yelp) in turn: train on every *other* source (GoEmotions and the two other
review sets), score every sentence of the left-out one. Chat and social posts are such unseen text, so this is the
question that matters. Three models learn from exactly the same rows:

- ours: logistic regression on MiniLM embeddings, GoEmotions' weight chosen by leaving out each of the two
  remaining review sources (``models.sentiment.training.fit_sentiment``, the recipe training uses);
- TF-IDF (words and bigrams) + logistic regression, with its GoEmotions weight chosen the same way;
- VADER, a lexicon (no training): positive when its compound score is at least 0.05, its authors' threshold.

Then the encoder alone, with one BLAS thread (its default) and with two: sentences per second over
``--speed-texts`` GoEmotions comments encoded in batches (no cache), and the median milliseconds to encode one
sentence on its own (what a single moderation request pays).

    .venv/bin/python -m bench.sentiment_quality

Needs no stack. Embeddings come through the on-disk cache (~3 minutes to fill when cold). Prints a table with the
load average (the machine is shared) and writes bench/results/sentiment_quality.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bench.report import RESULTS_DIR, load_average
from lakehouse.settings import Settings
from models.sentiment.data import GOEMOTIONS, UCI_SOURCES, load_sources
from models.sentiment.embedding_cache import EmbeddingCache
from models.sentiment.encoder import MiniLMEncoder
from models.sentiment.training import (
    DEFAULT_PARAMS,
    GOEMOTIONS_WEIGHTS,
    fit_sentiment,
    positive_probability,
    row_weights,
)

BENCHMARK = "sentiment_quality"
VADER_THRESHOLD = 0.05
GOAL = 0.85


def ours(train: pd.DataFrame, embeddings: np.ndarray) -> tuple[Callable[[np.ndarray], np.ndarray], float]:
    fitted = fit_sentiment(train, embeddings, DEFAULT_PARAMS)
    return (lambda other: positive_probability(fitted.model, other)), fitted.goemotions_weight


def tfidf_fit(rows: pd.DataFrame, weight: float) -> Callable[[list[str]], np.ndarray]:
    weights = row_weights(rows, weight)
    keep = weights > 0
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    features = vectorizer.fit_transform(rows["text"][keep])
    model = LogisticRegression(C=4.0, max_iter=2000).fit(features, rows["label"][keep], sample_weight=weights[keep])
    return lambda texts: model.predict_proba(vectorizer.transform(texts))[:, 1]


def tfidf(train: pd.DataFrame) -> tuple[Callable[[list[str]], np.ndarray], float]:
    """TF-IDF + LR with its GoEmotions weight chosen like ours: by the mean accuracy on each held-out review source."""
    reviews = [source for source in UCI_SOURCES if source in set(train["source"])]
    scores = {}
    for weight in GOEMOTIONS_WEIGHTS:
        accuracies = []
        for held in reviews:
            inner, test = train[train["source"] != held], train[train["source"] == held]
            predicted = tfidf_fit(inner, weight)(test["text"].tolist()) >= 0.5
            accuracies.append(accuracy_score(test["label"], predicted))
        scores[weight] = float(np.mean(accuracies))
    best = max(scores, key=lambda weight: (scores[weight], -weight))
    return tfidf_fit(train, best), best


def vader_positive(texts: list[str]) -> np.ndarray:
    analyzer = SentimentIntensityAnalyzer()
    return np.array([analyzer.polarity_scores(text)["compound"] >= VADER_THRESHOLD for text in texts], dtype=int)


def quality(rows: pd.DataFrame, embeddings: np.ndarray) -> list[dict[str, object]]:
    results = []
    for source in UCI_SOURCES:
        test = (rows["source"] == source).to_numpy()
        train, held = rows[~test].reset_index(drop=True), rows[test].reset_index(drop=True)
        labels = held["label"].to_numpy()
        ours_predict, ours_weight = ours(train, embeddings[~test])
        tfidf_predict, tfidf_weight = tfidf(train)
        results.append(
            {
                "left_out": source,
                "rows": int(test.sum()),
                "ours": accuracy_score(labels, ours_predict(embeddings[test]) >= 0.5),
                "ours_goemotions_weight": ours_weight,
                "tfidf_lr": accuracy_score(labels, tfidf_predict(held["text"].tolist()) >= 0.5),
                "tfidf_goemotions_weight": tfidf_weight,
                "vader": accuracy_score(labels, vader_positive(held["text"].tolist())),
            }
        )
        print(f"  {source}: done", flush=True)
    return results


def encoder_speed(encoder: MiniLMEncoder, texts: list[str], single: int = 100) -> dict[str, float]:
    encoder.encode(texts[:8])  # loads the weights and tokenizer outside the timing
    started = time.perf_counter()
    encoder.encode(texts)
    batch_seconds = time.perf_counter() - started
    latencies = []
    for text in texts[:single]:
        started = time.perf_counter()
        encoder.encode([text])
        latencies.append((time.perf_counter() - started) * 1000)
    return {
        "texts": len(texts),
        "sentences_per_s": len(texts) / batch_seconds,
        "single_p50_ms": float(np.percentile(latencies, 50)),
        "single_p99_ms": float(np.percentile(latencies, 99)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speed-texts", type=int, default=1000, help="GoEmotions comments to time the encoder on")
    args = parser.parse_args()
    settings = Settings()
    load_before = load_average()
    rows = load_sources(settings.shared_data_dir)
    encoder = MiniLMEncoder()
    embeddings = EmbeddingCache(settings.cache_dir, encoder).embed(rows["text"].tolist(), print)
    print(f"{len(rows)} texts embedded ({encoder.version}); training three models per left-out source", flush=True)
    results = quality(rows, embeddings)
    sample = rows.loc[rows["source"] == GOEMOTIONS, "text"].head(args.speed_texts).tolist()
    speed = {}
    for threads in (1, 2):  # the default (one BLAS thread) against both cores
        speed[threads] = encoder_speed(MiniLMEncoder(threads=threads), sample)
    print_table(results, speed, load_before, load_average())
    save(results, speed, encoder, load_before)


def print_table(
    results: list[dict[str, object]], speed: dict[int, dict[str, float]], before: list[float], after: list[float]
) -> None:
    print(f"\n{BENCHMARK}: accuracy on each review source left out of training (same rows for all three)")
    print(f"{'left out':<10} {'rows':>6} {'ours':>8} {'TF-IDF+LR':>10} {'VADER':>8} {'ours ahead':>11} {'GoEmo w':>8}")
    for r in results:
        ahead = r["ours"] > max(r["tfidf_lr"], r["vader"])
        print(
            f"{r['left_out']:<10} {r['rows']:>6} {r['ours']:>8.1%} {r['tfidf_lr']:>10.1%} {r['vader']:>8.1%} "
            f"{'yes' if ahead else 'NO':>11} {r['ours_goemotions_weight']:>8}"
        )
    means = {key: np.mean([r[key] for r in results]) for key in ("ours", "tfidf_lr", "vader")}
    print(f"{'mean':<10} {'':>6} {means['ours']:>8.1%} {means['tfidf_lr']:>10.1%} {means['vader']:>8.1%}")
    met = all(r["ours"] >= GOAL and r["ours"] > max(r["tfidf_lr"], r["vader"]) for r in results)
    print(f"goal (>= {GOAL:.0%} on each source and ahead of both baselines on each): {'met' if met else 'NOT met'}")
    for threads, figures in speed.items():
        print(
            f"encoder, {threads} BLAS thread(s) of {os.cpu_count()} cpus: {figures['sentences_per_s']:.0f} sentences/s "
            f"in batches ({figures['texts']:.0f} texts), one sentence p50 {figures['single_p50_ms']:.1f} ms, "
            f"p99 {figures['single_p99_ms']:.1f} ms"
        )
    print(f"load average (1, 5, 15 min): before {before}, after {after}")


def save(
    results: list[dict[str, object]], speed: dict[int, dict[str, float]], encoder: MiniLMEncoder, before: list[float]
) -> None:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{BENCHMARK}.json"
    payload = {
        "benchmark": BENCHMARK,
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
        "load_average": {"before": before, "after": load_average()},
        "encoder": encoder.version,
        "vader_threshold": VADER_THRESHOLD,
        "left_out_source_accuracy": results,
        "encoder_speed_by_blas_threads": speed,
    }
    path.write_text(json.dumps(payload, indent=2, default=float))
    print(f"saved {path}")


if __name__ == "__main__":
    main()
