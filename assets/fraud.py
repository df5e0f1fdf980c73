"""Fraud: point-in-time features from silver, the training set, the model in MLflow, and the online store."""

from datetime import UTC, datetime

from dagster import AssetExecutionContext, AssetKey, Definitions, MaterializeResult, MetadataValue, asset

from assets.metadata import delta_table_metadata
from assets.resources import LakehouseResource, RedisResource
from features.fraud_spec import FEATURE_COLUMNS, LABEL_COLUMN
from features.offline import build_fraud_features
from features.online import latest_entity_features, write_online
from features.training_set import build_training_set, read_pinned, read_pinned_or_empty, table_versions
from lakehouse import lake
from lakehouse.settings import Settings

SILVER_ORDERS, SILVER_CHARGEBACKS = AssetKey("ecommerce_orders_silver"), AssetKey("ecommerce_chargebacks_silver")
CHARGEBACKS_SCHEMA = "order_id STRING, filed_at TIMESTAMP"


def _silver_inputs(lakehouse: LakehouseResource):
    spark, settings = lakehouse.spark(), lakehouse.settings()
    orders = read_pinned(spark, lake.table_path(settings, "silver", "ecommerce_orders"))
    chargebacks = read_pinned_or_empty(
        spark, lake.table_path(settings, "silver", "ecommerce_chargebacks"), CHARGEBACKS_SCHEMA
    )
    return spark, settings, orders, chargebacks


@asset(group_name="features", kinds={"spark", "delta"}, deps=[SILVER_ORDERS, SILVER_CHARGEBACKS])
def fraud_training_set(context: AssetExecutionContext, lakehouse: LakehouseResource) -> MaterializeResult:
    """Every order with its fraud features as of the moment it was placed (no later data) and its label as known
    now: what the fraud model learns from. Features come from silver orders and chargebacks at pinned versions."""
    spark, settings, orders, chargebacks = _silver_inputs(lakehouse)
    features = build_fraud_features(orders.frame, chargebacks.frame)
    training = build_training_set(features, chargebacks.frame, cutoff=datetime.now(UTC))
    path = lake.table_path(settings, "features", "fraud_training_set")
    training.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(path)
    versions = table_versions(orders, chargebacks)
    frauds = spark.read.format("delta").load(path).agg({LABEL_COLUMN: "sum"}).first()[0] or 0
    return MaterializeResult(
        metadata={
            **delta_table_metadata(spark, path),
            "frauds": int(frauds),
            "features": len(FEATURE_COLUMNS),
            "input_table_versions": MetadataValue.json(versions),
        }
    )


@asset(group_name="models", kinds={"scikitlearn", "mlflow"}, deps=[fraud_training_set])
def fraud_model(context: AssetExecutionContext, lakehouse: LakehouseResource) -> MaterializeResult:
    """The fraud classifier trained on a time-based split, logged to MLflow and registered; the `champion` alias
    moves only when it beats the current champion on the same holdout."""
    from models.fraud_evaluation import InsufficientLabels
    from models.fraud_registry import train_and_register  # MLflow is slow to import: only this asset needs it

    spark, settings = lakehouse.spark(), lakehouse.settings()
    training = read_pinned(spark, lake.table_path(settings, "features", "fraud_training_set"))
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
            **{name: MetadataValue.float(value) for name, value in outcome.metrics.items()},
            "mlflow_run_id": outcome.run_id,
            "mlflow_ui": MetadataValue.url(_run_url(settings, outcome.run_id)),
        }
    )


@asset(group_name="features", kinds={"spark", "redis"}, deps=[SILVER_ORDERS, SILVER_CHARGEBACKS])
def fraud_online_features(lakehouse: LakehouseResource, redis: RedisResource) -> MaterializeResult:
    """The latest fraud features of every active customer and terminal in Redis (with a TTL), which the fraud
    service reads when it scores an order; entries missing or stale there are recomputed from PostgreSQL."""
    spark, settings, orders, chargebacks = _silver_inputs(lakehouse)
    as_of = datetime.now(UTC)
    customers, terminals = latest_entity_features(orders.frame, chargebacks.frame, as_of)
    with redis.client() as client:
        written = write_online(client, customers, terminals, settings.online_feature_ttl_s, as_of)
    return MaterializeResult(
        metadata={"entities_written": written, "as_of": as_of.isoformat(), "ttl_s": settings.online_feature_ttl_s}
    )


def _run_url(settings: Settings, run_id: str) -> str:
    return f"http://127.0.0.1:5000/#/experiments/runs/{run_id}"


defs = Definitions(
    assets=[fraud_training_set, fraud_model, fraud_online_features], resources={"redis": RedisResource()}
)
