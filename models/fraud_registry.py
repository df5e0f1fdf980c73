"""Recording a trained fraud model in MLflow and deciding whether it becomes the served ``champion``.

Every training run is logged (parameters, holdout metrics, figures, the feature list, the Delta table versions it
learned from, the holdout definition) and registered as a new version of ``FRAUD_MODEL_NAME``. The ``champion``
alias, which the fraud service serves, moves only when the new version beats the current champion on the new
run's holdout: the champion is re-scored on exactly those rows, so both numbers answer the same question.

MLflow is slow to import: callers that seldom train (the CLI) import this module inside the command.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.base import ClassifierMixin
from sklearn.metrics import average_precision_score

from lakehouse.instances import ensure_experiment
from lakehouse.settings import Settings
from models.fraud_evaluation import Thresholds
from models.fraud_training import TrainedModel, train_fraud_model

FRAUD_MODEL_NAME = "ecommerce-fraud"
EXPERIMENT_NAME = "ecommerce-fraud"
CHAMPION_ALIAS = "champion"
DEFAULT_HOLDOUT_DAYS = 14
# skops refuses to load types it does not know; the boosted trees' predictor is the one our model needs.
SKOPS_TRUSTED_TYPES = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]


@dataclass(frozen=True)
class ChampionDecision:
    promote: bool
    reason: str


@dataclass(frozen=True)
class RegistryOutcome:
    model_name: str
    version: str
    run_id: str
    promoted: bool
    reason: str
    champion_version: str  # after the decision
    previous_champion_version: str | None
    pr_auc: float
    previous_champion_pr_auc: float | None  # on the new run's holdout
    metrics: dict[str, float]


@dataclass(frozen=True)
class ChampionModel:
    """The served model with what the service needs to decide: its version and decision thresholds."""

    model: ClassifierMixin
    name: str
    version: str
    thresholds: Thresholds


def decide_champion(candidate_pr_auc: float, champion_pr_auc: float | None) -> ChampionDecision:
    """Promote when there is no comparable champion, or when the candidate's PR-AUC is strictly higher."""
    if champion_pr_auc is None:
        return ChampionDecision(True, "no comparable champion")
    if candidate_pr_auc > champion_pr_auc:
        return ChampionDecision(True, f"PR-AUC {candidate_pr_auc:.4f} beats the champion's {champion_pr_auc:.4f}")
    return ChampionDecision(False, f"PR-AUC {candidate_pr_auc:.4f} does not beat the champion's {champion_pr_auc:.4f}")


def train_and_register(
    settings: Settings,
    training: pd.DataFrame,
    table_versions: dict[str, int],
    *,
    holdout_days: int = DEFAULT_HOLDOUT_DAYS,
    params: dict[str, object] | None = None,
    model_name: str = FRAUD_MODEL_NAME,
) -> RegistryOutcome:
    trained = train_fraud_model(training, holdout_days=holdout_days, params=params or {}, table_versions=table_versions)
    return register_fraud_model(settings, trained, model_name)


def register_fraud_model(
    settings: Settings, trained: TrainedModel, model_name: str = FRAUD_MODEL_NAME
) -> RegistryOutcome:
    experiment_id = ensure_experiment(settings, EXPERIMENT_NAME)
    previous = current_champion(model_name)
    champion_pr_auc = _pr_auc_on_holdout(previous.model, trained) if previous else None
    pr_auc = trained.metrics["pr_auc"]
    decision = decide_champion(pr_auc, champion_pr_auc)
    with mlflow.start_run(experiment_id=experiment_id) as run:
        _log_training(trained)
        if previous is not None:
            mlflow.set_tag("champion_version_compared", previous.version)
            if champion_pr_auc is not None:
                mlflow.log_metric("champion_pr_auc_on_holdout", champion_pr_auc)
        version = _log_and_register_model(trained, model_name)
        mlflow.set_tags({"promoted": str(decision.promote).lower(), "champion_decision": decision.reason})
    if decision.promote:
        _client().set_registered_model_alias(model_name, CHAMPION_ALIAS, version)
    return RegistryOutcome(
        model_name=model_name,
        version=version,
        run_id=run.info.run_id,
        promoted=decision.promote,
        reason=decision.reason,
        champion_version=version if decision.promote else previous.version,
        previous_champion_version=previous.version if previous else None,
        pr_auc=pr_auc,
        previous_champion_pr_auc=champion_pr_auc,
        metrics=dict(trained.metrics),
    )


def current_champion(model_name: str = FRAUD_MODEL_NAME) -> ChampionModel | None:
    """The model the ``champion`` alias points at, loaded; None when there is none yet (configure MLflow first)."""
    try:
        version = _client().get_model_version_by_alias(model_name, CHAMPION_ALIAS)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    # Loaded by version number, not alias: the alias may move while we load.
    model = mlflow.sklearn.load_model(f"models:/{model_name}/{version.version}")
    thresholds = Thresholds(float(version.tags["review_threshold"]), float(version.tags["decline_threshold"]))
    return ChampionModel(model, model_name, str(version.version), thresholds)


def _pr_auc_on_holdout(model: ClassifierMixin, trained: TrainedModel) -> float | None:
    """The champion's PR-AUC on the new holdout; None when it was trained on another feature contract."""
    if tuple(getattr(model, "feature_names_in_", ())) != trained.feature_columns:
        return None  # it could not be served with today's features anyway
    return float(average_precision_score(trained.holdout.labels, scores_of(model, trained.holdout.features)))


def _log_training(trained: TrainedModel) -> None:
    mlflow.log_params({f"model.{key}": value for key, value in trained.params.items()})
    mlflow.log_params({f"holdout.{key}": value for key, value in trained.holdout.definition().items()})
    mlflow.log_params({f"threshold.{key}": value for key, value in asdict(trained.thresholds).items()})
    mlflow.log_params({f"table_version.{name}": version for name, version in trained.table_versions.items()})
    mlflow.set_tags({f"table_version.{name}": str(version) for name, version in trained.table_versions.items()})
    mlflow.log_metrics(trained.metrics)
    mlflow.log_dict({"feature_columns": list(trained.feature_columns)}, "features/feature_columns.json")
    mlflow.log_dict(trained.holdout.definition(), "holdout/definition.json")
    with tempfile.TemporaryDirectory() as folder:
        for name, png in trained.figures.items():
            (Path(folder) / name).write_bytes(png)
        mlflow.log_artifacts(folder, "figures")


def _log_and_register_model(trained: TrainedModel, model_name: str) -> str:
    example = trained.holdout.features.head(5)
    info = mlflow.sklearn.log_model(
        trained.model,
        name="model",
        signature=infer_signature(example, trained.model.predict_proba(example)),
        input_example=example,
        pyfunc_predict_fn="predict_proba",
        skops_trusted_types=SKOPS_TRUSTED_TYPES,
        registered_model_name=model_name,
    )
    version = str(info.registered_model_version)
    tags = {f"{key}_threshold": str(value) for key, value in asdict(trained.thresholds).items()}
    for key, value in (tags | {"pr_auc": str(trained.metrics["pr_auc"])}).items():
        _client().set_model_version_tag(model_name, version, key, value)
    return version


def _client() -> MlflowClient:
    # Built per call: it follows whatever store configure_mlflow pointed this process at.
    return MlflowClient()


def scores_of(model: ClassifierMixin, features: pd.DataFrame) -> np.ndarray:
    """Fraud probabilities, the one way the registry, tests and the service call the model."""
    return model.predict_proba(features)[:, 1]
