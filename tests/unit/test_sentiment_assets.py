"""The sentiment model's Dagster group: keys read [model, layer, table], the classifier reads the training data, its
job runs exactly its own group, and the MLflow link follows the settings."""

from __future__ import annotations

import pytest
from dagster import AssetKey, Definitions

from assets.resources import resources_for
from assets.sentiment import defs, sentiment_job
from assets.sentiment.model import SentimentTrainingConfig, run_url
from lakehouse.settings import Settings
from models.sentiment import QUICK_SAMPLE

TRAINING_DATA = AssetKey(["sentiment", "features", "training_data"])
CLASSIFIER = AssetKey(["sentiment", "models", "classifier"])


@pytest.fixture(scope="module")
def configured() -> Definitions:
    return Definitions.merge(defs, Definitions(resources=resources_for(Settings())))


def test_sentiment_assets_form_one_group_keyed_by_model_layer_and_table():
    assets = list(defs.assets)
    assert {key for asset in assets for key in asset.keys} == {TRAINING_DATA, CLASSIFIER}
    assert {group for asset in assets for group in asset.group_names_by_key.values()} == {"sentiment"}


def test_the_classifier_reads_the_training_data_and_the_job_runs_the_group(configured):
    assert configured.resolve_asset_graph().get(CLASSIFIER).parent_keys == {TRAINING_DATA}
    job = configured.resolve_job_def(sentiment_job.name)
    assert job.name == "sentiment_training"
    assert set(job.asset_layer.executable_asset_keys) == {TRAINING_DATA, CLASSIFIER}


def test_a_run_trains_on_a_sample_unless_told_otherwise():
    assert SentimentTrainingConfig().sample == QUICK_SAMPLE
    assert SentimentTrainingConfig(sample=None).sample is None


def test_the_mlflow_link_follows_the_settings():
    settings = Settings(mlflow_ui_url="https://mlflow.example.com:8443/")
    assert run_url(settings, "r1") == "https://mlflow.example.com:8443/#/experiments/runs/r1"
