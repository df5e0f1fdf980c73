"""The sentiment asset group through Dagster on a throwaway MLflow store: the training data shows its sources and
balance, the classifier registers a champion and links its run."""

from __future__ import annotations

import pytest
from dagster import materialize
from mlflow import MlflowClient

from assets.resources import resources_for
from assets.sentiment import sentiment_classifier, sentiment_training_data
from lakehouse.settings import Settings
from models.sentiment import SENTIMENT_MODEL_NAME

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SAMPLE = 100


def test_the_sentiment_group_materialises_and_registers_a_champion(tmp_path):
    settings = Settings(home=tmp_path, mlflow_ui_url="http://mlflow.example:5000")
    config = {"config": {"sample": SAMPLE}}
    result = materialize(
        [sentiment_training_data, sentiment_classifier],
        resources=resources_for(settings),
        run_config={"ops": {sentiment_training_data.op.name: config, sentiment_classifier.op.name: config}},
    )

    assert result.success
    data = result.asset_materializations_for_node(sentiment_training_data.op.name)[0].metadata
    assert data["rows"].value == 4 * SAMPLE
    per_source = data["per_source"].value
    assert set(per_source) == {"goemotions", "amazon", "imdb", "yelp"}
    assert all(summary["rows"] == SAMPLE and 0 < summary["positive_share"] < 1 for summary in per_source.values())

    model = result.asset_materializations_for_node(sentiment_classifier.op.name)[0].metadata
    assert model["model"].value == f"{SENTIMENT_MODEL_NAME} v1" and model["promoted"].value is True
    run_id = model["mlflow_run_id"].value
    assert model["mlflow_ui"].value == f"http://mlflow.example:5000/#/experiments/runs/{run_id}"
    assert 0.5 < model["loso_imdb_accuracy"].value <= 1
    alias = MlflowClient().get_model_version_by_alias(SENTIMENT_MODEL_NAME, "champion")
    assert str(alias.version) == "1" and alias.run_id == run_id
