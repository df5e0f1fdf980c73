"""The fraud model in a real MLflow store: what a run records, and when the champion alias moves."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pytest
from fraud_synthetic import synthetic_orders
from mlflow import MlflowClient
from sklearn.metrics import average_precision_score

from features.fraud.spec import FEATURE_COLUMNS, LABEL_COLUMN, LABEL_DELAY_DAYS, TIMESTAMP_COLUMN
from lakehouse.mlflow_store import configure_mlflow
from lakehouse.settings import Settings
from models.fraud.registry import (
    FeatureDefinitionMismatch,
    current_champion,
    register_fraud_model,
    train_and_register,
)
from models.fraud.training import train_fraud_model

pytestmark = pytest.mark.integration

HOLDOUT_DAYS = 14
VERSIONS = {"silver.orders": 7, "gold.fraud_training": 3}


def with_shuffled_training_labels(data):
    """The same orders, but labels shuffled before the holdout: a model that learned nothing, judged on true labels."""
    shuffled = data.copy()
    before = shuffled[TIMESTAMP_COLUMN] < shuffled[TIMESTAMP_COLUMN].max() - np.timedelta64(HOLDOUT_DAYS, "D")
    labels = shuffled.loc[before, LABEL_COLUMN].to_numpy()
    shuffled.loc[before, LABEL_COLUMN] = np.random.default_rng(0).permutation(labels)
    return shuffled


def test_the_champion_moves_only_for_a_better_model_on_the_same_holdout(tmp_path, unique_name):
    settings = Settings(home=tmp_path)
    configure_mlflow(settings)
    data = synthetic_orders(1500, seed=11)
    stump = train_fraud_model(
        data, holdout_days=HOLDOUT_DAYS, params={"max_iter": 1, "max_depth": 1}, table_versions=VERSIONS
    )

    first = register_fraud_model(settings, stump, unique_name)
    assert (first.version, first.promoted, first.champion_version, first.previous_champion_version) == (
        "1",
        True,
        "1",
        None,
    )

    worse = train_and_register(
        settings, with_shuffled_training_labels(data), VERSIONS, params={"max_iter": 30}, model_name=unique_name
    )
    stump_pr_auc = average_precision_score(
        stump.holdout.labels, stump.model.predict_proba(stump.holdout.features)[:, 1]
    )
    assert (worse.version, worse.promoted, worse.champion_version) == ("2", False, "1")
    assert worse.previous_champion_metric == pytest.approx(stump_pr_auc)
    assert worse.metric < stump_pr_auc

    better = train_and_register(settings, data, VERSIONS, params={"max_iter": 30}, model_name=unique_name)
    assert (better.version, better.promoted, better.champion_version, better.previous_champion_version) == (
        "3",
        True,
        "3",
        "1",
    )
    assert better.metric > better.previous_champion_metric == pytest.approx(stump_pr_auc)
    assert str(MlflowClient().get_model_version_by_alias(unique_name, "champion").version) == "3"

    recorded = MlflowClient().get_run(worse.run_id).data
    assert recorded.tags["promoted"] == "false" and recorded.tags["champion_version_compared"] == "1"
    assert recorded.metrics["champion_pr_auc_on_holdout"] == pytest.approx(stump_pr_auc)


def test_a_run_records_what_the_model_learned_from_and_loads_back_identically(tmp_path, unique_name):
    settings = Settings(home=tmp_path)
    configure_mlflow(settings)
    trained = train_fraud_model(
        synthetic_orders(1200, seed=5), holdout_days=HOLDOUT_DAYS, params={"max_iter": 20}, table_versions=VERSIONS
    )
    outcome = register_fraud_model(settings, trained, unique_name)

    run = MlflowClient().get_run(outcome.run_id)
    assert (
        run.data.params["table_version.gold.fraud_training"] == "3"
        and run.data.tags["table_version.silver.orders"] == "7"
    )
    assert run.data.params["holdout.rows"] == str(trained.holdout.rows)
    assert run.data.params["model.max_iter"] == "20"
    assert run.data.metrics["pr_auc"] == pytest.approx(trained.metrics["pr_auc"])
    artifacts = Path(
        mlflow.artifacts.download_artifacts(run_id=outcome.run_id, artifact_path="", dst_path=str(tmp_path / "dl"))
    )
    assert json.loads((artifacts / "features" / "feature_columns.json").read_text()) == {
        "feature_columns": list(FEATURE_COLUMNS)
    }
    assert json.loads((artifacts / "holdout" / "definition.json").read_text())["rows"] == trained.holdout.rows
    assert (artifacts / "figures" / "pr_curve.png").read_bytes().startswith(b"\x89PNG")
    assert (artifacts / "figures" / "confusion_matrix.png").read_bytes().startswith(b"\x89PNG")

    version = MlflowClient().get_model_version(unique_name, outcome.version)
    assert float(version.tags["decline_threshold"]) == trained.thresholds.decline
    # The label delay its terminal-risk windows used, on the run and on the version the server loads.
    assert float(run.data.params["features.label_delay_days"]) == float(version.tags["label_delay_days"])
    assert float(version.tags["label_delay_days"]) == LABEL_DELAY_DAYS
    loaded = mlflow.sklearn.load_model(f"models:/{unique_name}@champion")
    features = trained.holdout.features
    np.testing.assert_array_equal(loaded.predict_proba(features), trained.model.predict_proba(features))
    served = mlflow.pyfunc.load_model(f"models:/{unique_name}@champion").predict(features)
    np.testing.assert_array_equal(np.asarray(served), trained.model.predict_proba(features))


def test_a_champion_trained_with_another_label_delay_is_neither_compared_nor_served(tmp_path, unique_name):
    settings = Settings(home=tmp_path)
    configure_mlflow(settings)
    data = synthetic_orders(1200, seed=5)
    other = train_fraud_model(
        data,
        holdout_days=HOLDOUT_DAYS,
        params={"max_iter": 20},
        table_versions=VERSIONS,
        label_delay_days=LABEL_DELAY_DAYS + 7,
    )
    assert register_fraud_model(settings, other, unique_name).promoted
    with pytest.raises(FeatureDefinitionMismatch, match=f"ending {LABEL_DELAY_DAYS + 7:g} days"):
        current_champion(unique_name)

    # A model on the served definition, even a stump, replaces it: the old one was judged on other features.
    stump = train_fraud_model(data, holdout_days=HOLDOUT_DAYS, params={"max_iter": 1}, table_versions=VERSIONS)
    outcome = register_fraud_model(settings, stump, unique_name)
    assert (outcome.promoted, outcome.previous_champion_metric) == (True, None)
    assert current_champion(unique_name).version == outcome.version
