"""The fraud model's Dagster group: keys read [model, layer, table], its inputs are the e-commerce silver assets
(by their keys, not retyped names), and its job runs exactly its own group."""

from __future__ import annotations

import pytest
from dagster import AssetKey, Definitions

from assets.fraud import defs, fraud_job
from assets.fraud.model import run_url
from assets.resources import resources_for
from lakehouse.settings import Settings


@pytest.fixture(scope="module")
def configured() -> Definitions:
    """The group as the code location loads it: with the resources configured once from settings."""
    return Definitions.merge(defs, Definitions(resources=resources_for(Settings())))


def test_fraud_assets_form_one_group_keyed_by_model_layer_and_table():
    assets = list(defs.assets)
    keys = {key for asset in assets for key in asset.keys}
    assert keys == {
        AssetKey(["fraud", "features", "training_set"]),
        AssetKey(["fraud", "models", "classifier"]),
        AssetKey(["fraud", "features", "online"]),
    }
    assert {group for asset in assets for group in asset.group_names_by_key.values()} == {"fraud"}


def test_fraud_features_read_the_ecommerce_silver_assets_and_the_model_reads_the_training_set(configured):
    graph = configured.resolve_asset_graph()
    silver = {AssetKey(["ecommerce", "silver", "orders"]), AssetKey(["ecommerce", "silver", "chargebacks"])}
    assert graph.get(AssetKey(["fraud", "features", "training_set"])).parent_keys == silver
    assert graph.get(AssetKey(["fraud", "features", "online"])).parent_keys == silver
    assert graph.get(AssetKey(["fraud", "models", "classifier"])).parent_keys == {
        AssetKey(["fraud", "features", "training_set"])
    }


def test_the_fraud_job_selects_the_fraud_group(configured):
    job = configured.resolve_job_def(fraud_job.name)
    assert job.name == "fraud_training"
    assert set(job.asset_layer.executable_asset_keys) == {
        AssetKey(["fraud", "features", "training_set"]),
        AssetKey(["fraud", "models", "classifier"]),
        AssetKey(["fraud", "features", "online"]),
    }


def test_the_mlflow_link_follows_the_settings():
    settings = Settings(mlflow_ui_url="https://mlflow.example.com:8443/")
    assert run_url(settings, "r1") == "https://mlflow.example.com:8443/#/experiments/runs/r1"
