"""Fraud features: the point-in-time training set in Delta and the latest values per entity in Redis, both from the
e-commerce silver orders and chargebacks."""

from datetime import UTC, datetime

from dagster import MaterializeResult, MetadataValue, asset

from assets.core.keys import table_key
from assets.core.lake import table_metadata
from assets.resources import LakehouseResource, RedisResource
from features.fraud.inputs import FraudInputs, read_fraud_inputs
from features.fraud.spec import FEATURE_COLUMNS
from features.fraud.training_set import training_set_path, write_training_set
from pipelines.core.tables import domain_lake

MODEL = "fraud"
SILVER_ORDERS = table_key("ecommerce", "silver", "orders")
SILVER_CHARGEBACKS = table_key("ecommerce", "silver", "chargebacks")
TRAINING_SET = table_key(MODEL, "features", "training_set")
ONLINE_FEATURES = table_key(MODEL, "features", "online")


def _silver_inputs(lakehouse: LakehouseResource) -> FraudInputs:
    return read_fraud_inputs(lakehouse.spark(), domain_lake(lakehouse.settings(), "ecommerce"))


@asset(key=TRAINING_SET, group_name=MODEL, kinds={"spark", "delta"}, deps=[SILVER_ORDERS, SILVER_CHARGEBACKS])
def fraud_training_set(lakehouse: LakehouseResource) -> MaterializeResult:
    """Every order with its fraud features as of the moment it was placed (no later data) and its label as known
    now: what the fraud model learns from. Features come from silver orders and chargebacks at pinned versions."""
    inputs, cutoff = _silver_inputs(lakehouse), datetime.now(UTC)
    path = training_set_path(lakehouse.settings())
    frauds = write_training_set(inputs.orders.frame, inputs.chargebacks.frame, cutoff, path)
    return MaterializeResult(
        metadata={
            **table_metadata(path),
            "frauds": frauds,
            "features": len(FEATURE_COLUMNS),
            # With the cutoff, these rebuild exactly this training set (features.fraud.inputs.read_recorded_inputs).
            "input_table_versions": MetadataValue.json(inputs.versions()),
            "cutoff": MetadataValue.text(cutoff.isoformat()),
        }
    )


@asset(key=ONLINE_FEATURES, group_name=MODEL, kinds={"spark", "redis"}, deps=[SILVER_ORDERS, SILVER_CHARGEBACKS])
def fraud_online_features(lakehouse: LakehouseResource, redis: RedisResource) -> MaterializeResult:
    """The latest fraud features of every active customer and terminal in Redis (with a TTL), which the fraud
    service reads when it scores an order; entries missing or stale there are recomputed from PostgreSQL."""
    from features.fraud.online import latest_entity_features, write_online  # the Redis client: not at load

    inputs = _silver_inputs(lakehouse)
    ttl_s, as_of = lakehouse.settings().online_feature_ttl_s, datetime.now(UTC)
    customers, terminals = latest_entity_features(inputs.orders.frame, inputs.chargebacks.frame, as_of)
    with redis.client() as client:
        written = write_online(client, customers, terminals, ttl_s, as_of)
    return MaterializeResult(metadata={"entities_written": written, "as_of": as_of.isoformat(), "ttl_s": ttl_s})
