"""The anomaly model in the registry (``models.registry``): a trained ``FittedDetector`` logged and registered as
a version of ``ANOMALY_MODEL_NAME`` with the champion gate on the held-out fleet's NAB score, and the champion's
settings read back for the live scorer, the service and the score command (``load_champion_params``).

MLflow is slow to import: callers that seldom train (the CLI) import this module inside the command.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from lakehouse.mlflow_store import configure_mlflow
from lakehouse.settings import Settings
from models.anomaly import ANOMALY_MODEL_NAME
from models.anomaly.detector import DetectorParams
from models.anomaly.fitted import FEATURE_COLUMNS, FittedDetector
from models.anomaly.training import TrainedDetector, TrainingConfig, config_params, holdout_nab, train_detector
from models.registry import Candidate, ModelEntry, RegistryOutcome, register_candidate

ANOMALY_EXPERIMENT_NAME = "iot_anomaly"
ANOMALY_MODEL = ModelEntry(
    name=ANOMALY_MODEL_NAME,
    experiment=ANOMALY_EXPERIMENT_NAME,
    metric="nab_standard",
    metric_label="NAB standard score",
    # skops refuses types it does not know: ours holds only dicts of numbers.
    skops_trusted_types=("models.anomaly.fitted.FittedDetector",),
)
TRAIN_HINT = "run `lakehouse anomaly train` to train one"


class NoChampionError(RuntimeError):
    """No version of the anomaly model is the champion yet."""


@dataclass(frozen=True)
class ChampionParams:
    """The champion's version and its rule for a device's detector settings."""

    model_version: str
    detector: FittedDetector

    def params_for(self, model_id: str | None, sampling_seconds: float | None) -> DetectorParams:
        return self.detector.params_for(model_id, sampling_seconds)


_cache: dict[tuple[str, str], ChampionParams] = {}
_lock = threading.Lock()


def load_champion_params(settings: Settings, model_name: str = ANOMALY_MODEL_NAME) -> ChampionParams:
    """The champion's settings, loaded once per version (the alias is looked up each call: it may move)."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    configure_mlflow(settings)
    try:
        version = str(MlflowClient().get_model_version_by_alias(model_name, "champion").version)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise NoChampionError(f"the anomaly model {model_name!r} has no champion yet: {TRAIN_HINT}") from None
        raise
    with _lock:
        if (model_name, version) not in _cache:
            detector = mlflow.sklearn.load_model(f"models:/{model_name}/{version}")
            _cache[(model_name, version)] = ChampionParams(version, detector)
        return _cache[(model_name, version)]


def entry_named(model_name: str) -> ModelEntry:
    return replace(ANOMALY_MODEL, name=model_name)


@dataclass(frozen=True)
class TrainingOutcome:
    registry: RegistryOutcome
    trained: TrainedDetector


def train_and_register(
    settings: Settings, config: TrainingConfig | None = None, model_name: str = ANOMALY_MODEL_NAME
) -> TrainingOutcome:
    """Train on the simulated fleets, log the run, register a version and gate it against the champion (re-scored
    on this run's held-out fleets, so both NAB scores answer the same question)."""
    config = config or TrainingConfig()
    trained = train_detector(config)

    def nab_on_holdout(model: FittedDetector) -> float:
        return holdout_nab(model, trained.holdout_fleets)

    outcome = register_candidate(settings, entry_named(model_name), candidate(trained, config), nab_on_holdout)
    return TrainingOutcome(outcome, trained)


def candidate(trained: TrainedDetector, config: TrainingConfig) -> Candidate:
    """What the registry records of a trained detector; its version carries the fitted settings as tags."""
    return Candidate(
        model=trained.model,
        params=trained.params,
        metrics=trained.metrics,
        holdout=trained.holdout,
        table_versions={},  # learned from simulated fleets, not from Delta tables
        feature_columns=FEATURE_COLUMNS,
        input_example=trained.input_example,
        figures=trained.figures,
        extra_params=config_params(config)
        | {f"training_fleet.{key}": value for key, value in trained.training_fleet.items()},
        version_tags={key: str(value) for key, value in trained.params.items()},
    )
