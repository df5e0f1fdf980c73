"""The model registry, the same for every model: log a training run, register it as a new version, and move the
``champion`` alias (the version a service serves) only when the new version beats the current champion.

Every run records its parameters, holdout metrics, figures, feature list, holdout definition and the Delta table
versions it learned from. The gate is fair: the current champion is re-scored on exactly the new run's holdout, so
both numbers answer the same question; a champion trained on other feature columns is not comparable (it could not
be served with today's features anyway) and the new version replaces it.

MLflow is slow to import: callers that seldom train (the CLI) import this module inside the command.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.base import BaseEstimator

from lakehouse.mlflow_store import ensure_experiment
from lakehouse.settings import Settings

CHAMPION_ALIAS = "champion"


@dataclass(frozen=True)
class ModelEntry:
    """A model as the registry knows it: where its runs go and how its versions are compared."""

    name: str  # the registered model
    experiment: str
    metric: str  # the holdout metric the champion gate compares; higher is better
    metric_label: str  # the same, as a person reads it in the decision
    predict_fn: str = "predict"  # what MLflow's pyfunc flavour calls
    skops_trusted_types: tuple[str, ...] = ()  # types skops may load beyond its own list


@dataclass(frozen=True)
class Candidate:
    """A trained model and everything its run records."""

    model: BaseEstimator
    params: dict[str, object]  # the estimator's, logged as ``model.<name>``
    metrics: dict[str, float]  # on the holdout; holds the entry's ``metric``
    holdout: dict[str, object]  # which rows judged it, logged as ``holdout.<name>`` and holdout/definition.json
    table_versions: dict[str, int]  # Delta table path -> version it learned from
    feature_columns: tuple[str, ...]
    input_example: pd.DataFrame = field(repr=False)
    figures: dict[str, bytes] = field(default_factory=dict, repr=False)  # file name -> PNG
    extra_params: dict[str, object] = field(default_factory=dict)  # logged under their own names
    version_tags: dict[str, str] = field(default_factory=dict)  # on the registered version, for its server
    # Version tags that define what the inputs mean (e.g. a label delay): a champion whose tags differ was
    # judged on other features, so it is not compared on this holdout.
    definition_tags: tuple[str, ...] = ()


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
    metric_name: str  # the entry's gate metric
    metric: float
    previous_champion_metric: float | None  # on the new run's holdout
    metrics: dict[str, float]


@dataclass(frozen=True)
class Champion:
    """The version the ``champion`` alias points at, loaded, with its version tags."""

    model: BaseEstimator
    name: str
    version: str
    tags: dict[str, str]


def decide_champion(candidate: float, champion: float | None, metric_label: str) -> ChampionDecision:
    """Promote when there is no comparable champion, or when the candidate's metric is strictly higher."""
    if champion is None:
        return ChampionDecision(True, "no comparable champion")
    if candidate > champion:
        return ChampionDecision(True, f"{metric_label} {candidate:.4f} beats the champion's {champion:.4f}")
    return ChampionDecision(False, f"{metric_label} {candidate:.4f} does not beat the champion's {champion:.4f}")


def register_candidate(
    settings: Settings, entry: ModelEntry, candidate: Candidate, score_holdout: Callable[[BaseEstimator], float]
) -> RegistryOutcome:
    """Log and register ``candidate``; ``score_holdout(model)`` is the entry's metric of a model on its holdout."""
    experiment_id = ensure_experiment(settings, entry.experiment)
    previous = load_champion(entry.name)
    comparable = (
        previous is not None
        and same_features(previous.model, candidate.feature_columns)
        and all(previous.tags.get(tag) == candidate.version_tags.get(tag) for tag in candidate.definition_tags)
    )
    champion_metric = score_holdout(previous.model) if comparable else None
    metric = candidate.metrics[entry.metric]
    decision = decide_champion(metric, champion_metric, entry.metric_label)
    with mlflow.start_run(experiment_id=experiment_id) as run:
        _log_training(candidate)
        if previous is not None:
            mlflow.set_tag("champion_version_compared", previous.version)
            if champion_metric is not None:
                mlflow.log_metric(f"champion_{entry.metric}_on_holdout", champion_metric)
        version = _log_and_register_model(entry, candidate)
        mlflow.set_tags({"promoted": str(decision.promote).lower(), "champion_decision": decision.reason})
    if decision.promote:
        _client().set_registered_model_alias(entry.name, CHAMPION_ALIAS, version)
    return RegistryOutcome(
        model_name=entry.name,
        version=version,
        run_id=run.info.run_id,
        promoted=decision.promote,
        reason=decision.reason,
        champion_version=version if decision.promote else previous.version,
        previous_champion_version=previous.version if previous else None,
        metric_name=entry.metric,
        metric=metric,
        previous_champion_metric=champion_metric,
        metrics=dict(candidate.metrics),
    )


def load_champion(model_name: str) -> Champion | None:
    """The model the ``champion`` alias points at, loaded; None when there is none yet (configure MLflow first)."""
    try:
        version = _client().get_model_version_by_alias(model_name, CHAMPION_ALIAS)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise
    # Loaded by version number, not alias: the alias may move while we load.
    model = mlflow.sklearn.load_model(f"models:/{model_name}/{version.version}")
    return Champion(model, model_name, str(version.version), dict(version.tags))


def same_features(model: BaseEstimator, feature_columns: tuple[str, ...]) -> bool:
    """Whether ``model`` was fitted on exactly ``feature_columns``, in that order."""
    return tuple(getattr(model, "feature_names_in_", ())) == feature_columns


def _log_training(candidate: Candidate) -> None:
    mlflow.log_params({f"model.{key}": value for key, value in candidate.params.items()})
    mlflow.log_params({f"holdout.{key}": value for key, value in candidate.holdout.items()})
    mlflow.log_params(candidate.extra_params)
    mlflow.log_params({f"table_version.{name}": version for name, version in candidate.table_versions.items()})
    mlflow.set_tags({f"table_version.{name}": str(version) for name, version in candidate.table_versions.items()})
    mlflow.log_metrics(candidate.metrics)
    mlflow.log_dict({"feature_columns": list(candidate.feature_columns)}, "features/feature_columns.json")
    mlflow.log_dict(candidate.holdout, "holdout/definition.json")
    with tempfile.TemporaryDirectory() as folder:
        for name, png in candidate.figures.items():
            (Path(folder) / name).write_bytes(png)
        mlflow.log_artifacts(folder, "figures")


def _log_and_register_model(entry: ModelEntry, candidate: Candidate) -> str:
    example = candidate.input_example
    predict = getattr(candidate.model, entry.predict_fn)
    info = mlflow.sklearn.log_model(
        candidate.model,
        name="model",
        signature=infer_signature(example, predict(example)),
        input_example=example,
        pyfunc_predict_fn=entry.predict_fn,
        skops_trusted_types=list(entry.skops_trusted_types),
        registered_model_name=entry.name,
    )
    version = str(info.registered_model_version)
    tags = candidate.version_tags | {entry.metric: str(candidate.metrics[entry.metric])}
    for key, value in tags.items():
        _client().set_model_version_tag(entry.name, version, key, value)
    return version


def _client() -> MlflowClient:
    # Built per call: it follows whatever store configure_mlflow pointed this process at.
    return MlflowClient()
