"""The sentiment model in a real MLflow store: what a run records (sources and weights, encoder, per-source metrics,
the confusion matrix), the champion gate, and the champion served through ``load_champion``."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from lakehouse.mlflow_store import configure_mlflow
from lakehouse.settings import Settings
from models.sentiment.data import training_rows
from models.sentiment.encoder import ENCODER_PACKAGE, MiniLMEncoder
from models.sentiment.registry import train_and_register
from models.sentiment.scorer import NoSentimentChampion, load_champion
from models.sentiment.training import holdout_mask

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SAMPLE = 150  # texts per source: a cold embedding cache encodes ~600 texts


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """One MLflow store in a temporary folder for the module (each test registers its own model name); the
    embedding cache stays the machine's (``settings.cache_dir``)."""
    settings = Settings(home=tmp_path_factory.mktemp("sentiment"))
    configure_mlflow(settings)
    return settings


def test_a_run_records_its_sources_encoder_and_metrics_and_its_champion_scores_texts(settings, tmp_path, unique_name):
    first = train_and_register(settings, sample=SAMPLE, model_name=unique_name, progress=lambda _: None)
    assert (first.version, first.promoted, first.champion_version) == ("1", True, "1")

    run = MlflowClient().get_run(first.run_id).data
    assert run.params["encoder.package"] == ENCODER_PACKAGE and run.params["sample"] == str(SAMPLE)
    assert run.params["sources"] == "amazon,goemotions,imdb,yelp" and run.params["rows.imdb"] == str(SAMPLE)
    assert float(run.params["weight.goemotions"]) == first.metrics["goemotions_weight"]
    assert run.params["weight.amazon"] == "1.0" and run.params["model.classifier"] == "LogisticRegression"
    for source in ("amazon", "imdb", "yelp"):
        assert 0.5 < run.metrics[f"loso_{source}_accuracy"] <= 1 and f"loso_{source}_f1" in run.metrics
    assert "holdout_goemotions_accuracy" in run.metrics and "holdout_goemotions_f1" in run.metrics
    artifacts = Path(
        mlflow.artifacts.download_artifacts(run_id=first.run_id, artifact_path="", dst_path=str(tmp_path / "dl"))
    )
    assert (artifacts / "figures" / "confusion_matrix.png").read_bytes().startswith(b"\x89PNG")
    version = MlflowClient().get_model_version(unique_name, first.version)
    assert version.tags["encoder"] == MiniLMEncoder().version

    scorer = load_champion(settings, unique_name)
    assert (scorer.model_name, scorer.model_version) == (unique_name, "1")
    labels, scores = scorer.predict(
        [
            "This is the best phone I have ever owned, I love it!",
            "Worst purchase ever: it broke after one day and support was rude.",
        ]
    )
    assert labels.tolist() == [1, 0] and scores[0] > 0.5 > scores[1]
    # The served path (texts -> encoder -> model) reproduces the run's holdout accuracy, computed independently here.
    rows = training_rows(settings.shared_data_dir, sample=SAMPLE)
    holdout = rows[holdout_mask(rows["text"])]
    predicted, _ = scorer.predict(holdout["text"].tolist())
    per_source = (pd.Series(predicted, index=holdout.index) == holdout["label"]).groupby(holdout["source"]).mean()
    assert first.metric == pytest.approx(per_source.mean())


def test_the_gate_judges_the_champion_on_the_new_runs_holdout_and_extra_rows_are_learned(settings, unique_name):
    first = train_and_register(settings, sample=SAMPLE, model_name=unique_name, progress=lambda _: None)
    again = train_and_register(settings, sample=SAMPLE, model_name=unique_name, progress=lambda _: None)
    # The same texts and recipe: the same score, which does not beat the champion.
    assert (again.version, again.promoted, again.champion_version) == ("2", False, "1")
    assert again.previous_champion_metric == pytest.approx(first.metric)

    reviews = pd.DataFrame(
        {
            "text": [
                f"moderator review {i}: {'lovely, thanks!' if i % 2 else 'vile insult, go away'}" for i in range(40)
            ],
            "label": [i % 2 for i in range(40)],
            "source": "moderation",
        }
    )
    extra = train_and_register(settings, sample=SAMPLE, extra=reviews, model_name=unique_name, progress=lambda _: None)
    run = MlflowClient().get_run(extra.run_id).data
    assert run.params["rows.moderation"] == "40" and run.params["weight.moderation"] == "1.0"
    assert run.tags["champion_version_compared"] == "1" and "holdout_moderation_accuracy" in run.metrics
    assert extra.promoted == (extra.metric > extra.previous_champion_metric)
    assert np.isclose(run.metrics["champion_holdout_accuracy_on_holdout"], extra.previous_champion_metric)


def test_loading_without_a_champion_says_what_to_do(settings, unique_name):
    with pytest.raises(NoSentimentChampion, match="train one first"):
        load_champion(settings, unique_name)
