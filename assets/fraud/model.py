"""The fraud classifier: trained on the training set, logged and registered in MLflow, promoted by the champion gate."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.core.keys import table_key
from assets.core.mlflow_links import run_url
from assets.fraud.features import MODEL, TRAINING_SET
from assets.resources import LakehouseResource
from features.fraud.spec import LABEL_DELAY_DAYS
from features.fraud.training_set import training_set_path
from features.pinned import read_pinned, table_versions

CLASSIFIER = table_key(MODEL, "models", "classifier")


@asset(key=CLASSIFIER, group_name=MODEL, kinds={"scikitlearn", "mlflow"}, deps=[TRAINING_SET])
def fraud_classifier(context: AssetExecutionContext, lakehouse: LakehouseResource) -> MaterializeResult:
    """The fraud classifier trained on a time-based split, logged to MLflow and registered; the `champion` alias
    moves only when it beats the current champion on the same holdout."""
    from models.fraud.evaluation import InsufficientLabels
    from models.fraud.registry import train_and_register  # MLflow is slow to import: only this asset needs it

    spark, settings = lakehouse.spark(), lakehouse.settings()
    training = read_pinned(spark, training_set_path(settings))
    try:
        outcome = train_and_register(settings, training.frame.toPandas(), table_versions(training))
    except InsufficientLabels as error:
        # Too few chargebacks yet is a state of the data, not a bug: nothing is registered, the champion stays.
        context.log.warning(f"fraud model not trained: {error}")
        return MaterializeResult(metadata={"trained": False, "reason": str(error)})
    context.log.info(f"model {outcome.model_name} v{outcome.version}: {outcome.reason}")
    return MaterializeResult(
        metadata={
            "model": f"{outcome.model_name} v{outcome.version}",
            "promoted": outcome.promoted,
            "champion_version": outcome.champion_version,
            "decision": outcome.reason,
            "label_delay_days": MetadataValue.float(float(LABEL_DELAY_DAYS)),
            **{name: MetadataValue.float(value) for name, value in outcome.metrics.items()},
            "mlflow_run_id": outcome.run_id,
            "mlflow_ui": MetadataValue.url(run_url(settings, outcome.run_id)),
        }
    )
