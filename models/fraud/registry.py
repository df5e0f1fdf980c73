"""The fraud model in the registry (``models.registry``): a trained model logged and registered as a version of
``FRAUD_MODEL_NAME``, the champion gate on PR-AUC, and the served champion with its decision thresholds.

MLflow is slow to import: callers that seldom train (the CLI) import this module inside the command.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.metrics import average_precision_score

from features.fraud.spec import LABEL_DELAY_DAYS, feature_definition
from lakehouse.settings import Settings
from models.fraud import FRAUD_EXPERIMENT_NAME, FRAUD_MODEL_NAME
from models.fraud.evaluation import Thresholds
from models.fraud.training import TrainedModel, scores_of, train_fraud_model
from models.registry import Candidate, ModelEntry, RegistryOutcome, load_champion, register_candidate

DEFAULT_HOLDOUT_DAYS = 14
LABEL_DELAY_TAG = "label_delay_days"
FAMILY_TAG = "model_family"
FRAUD_MODEL = ModelEntry(
    name=FRAUD_MODEL_NAME,
    experiment=FRAUD_EXPERIMENT_NAME,
    metric="pr_auc",
    metric_label="PR-AUC",
    predict_fn="predict_proba",
    # skops refuses to load types it does not know: the boosted trees' predictor, and the random forest's trees
    # (when the backtest picks the forest).
    skops_trusted_types=(
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.tree._tree.Tree",
    ),
)


@dataclass(frozen=True)
class ChampionModel:
    """The served model with what the service needs to decide: its version and decision thresholds."""

    model: ClassifierMixin
    name: str
    version: str
    thresholds: Thresholds


def train_and_register(
    settings: Settings,
    training: pd.DataFrame,
    table_versions: dict[str, int],
    *,
    holdout_days: int = DEFAULT_HOLDOUT_DAYS,
    params: dict[str, object] | None = None,
    model_name: str = FRAUD_MODEL_NAME,
    label_delay_days: float = LABEL_DELAY_DAYS,
    family: str = "project",
) -> RegistryOutcome:
    trained = train_fraud_model(
        training,
        holdout_days=holdout_days,
        params=params or {},
        table_versions=table_versions,
        label_delay_days=label_delay_days,
        family=family,
    )
    return register_fraud_model(settings, trained, model_name)


def register_fraud_model(
    settings: Settings, trained: TrainedModel, model_name: str = FRAUD_MODEL_NAME
) -> RegistryOutcome:
    """Log and register ``trained``; it becomes the champion only with a higher PR-AUC on its own holdout."""

    def pr_auc_on_holdout(model: ClassifierMixin) -> float:
        return float(average_precision_score(trained.holdout.labels, scores_of(model, trained.holdout.features)))

    entry = replace(FRAUD_MODEL, name=model_name)
    return register_candidate(settings, entry, candidate(trained), pr_auc_on_holdout)


def candidate(trained: TrainedModel) -> Candidate:
    """What the registry records of a trained fraud model; its version carries the decision thresholds."""
    thresholds = asdict(trained.thresholds)
    return Candidate(
        model=trained.model,
        params=trained.params,
        metrics=trained.metrics,
        holdout=trained.holdout.definition(),
        table_versions=trained.table_versions,
        feature_columns=trained.feature_columns,
        input_example=trained.holdout.features.head(5),
        figures=trained.figures,
        extra_params={f"threshold.{key}": value for key, value in thresholds.items()}
        | {"model.family": trained.family}
        # The columns are logged as features/feature_columns.json; the windows and delay say what they mean.
        | {
            f"features.{key}": value
            for key, value in feature_definition(trained.label_delay_days).items()
            if key != "feature_columns"
        },
        version_tags={f"{key}_threshold": str(value) for key, value in thresholds.items()}
        | {LABEL_DELAY_TAG: _delay_text(trained.label_delay_days), FAMILY_TAG: trained.family},
        definition_tags=(LABEL_DELAY_TAG,),
    )


def _delay_text(days: float) -> str:
    return f"{float(days):g}"


class FeatureDefinitionMismatch(RuntimeError):
    """The champion was trained on features defined otherwise than the ones the online store and fallback serve."""


def current_champion(model_name: str = FRAUD_MODEL_NAME) -> ChampionModel | None:
    """The fraud model the ``champion`` alias points at, loaded; None when there is none yet (configure MLflow)."""
    champion = load_champion(model_name)
    if champion is None:
        return None
    delay = champion.tags.get(LABEL_DELAY_TAG)
    # A version registered before the delay was recorded has no tag: it is served as before, and the next training
    # replaces it (it is not comparable on the gate).
    if delay is not None and delay != _delay_text(LABEL_DELAY_DAYS):
        raise FeatureDefinitionMismatch(
            f"{model_name} v{champion.version} was trained with terminal risk over windows ending {delay} days "
            f"before each order, but the online store and fallback compute them {LABEL_DELAY_DAYS} days before: "
            f"train a model with label_delay_days={LABEL_DELAY_DAYS} (lakehouse train fraud) before serving"
        )
    thresholds = Thresholds(float(champion.tags["review_threshold"]), float(champion.tags["decline_threshold"]))
    return ChampionModel(champion.model, champion.name, champion.version, thresholds)
