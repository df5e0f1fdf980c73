"""The fraud asset group through Dagster on a throwaway lake and the real Redis: the training set lands in Delta
with the silver versions it read, the online features in Redis with their TTL, and a classifier without enough
labels is skipped, not failed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from dagster import materialize
from pyspark.sql import SparkSession
from pyspark.testing import assertDataFrameEqual
from redis import Redis

from assets.core.keys import table_key
from assets.fraud import fraud_classifier, fraud_online_features, fraud_training_set
from assets.resources import resources_for
from features.fraud.inputs import CHARGEBACKS_SCHEMA, read_recorded_inputs
from features.fraud.spec import CUSTOMER_KEY, LABEL_COLUMN, TERMINAL_KEY
from features.fraud.training_set import training_set_from
from features.online_store import AS_OF_FIELD
from lakehouse.settings import Settings
from pipelines.core.tables import domain_lake

pytestmark = pytest.mark.integration

ORDERS_SCHEMA = "order_id string, customer_id string, terminal_id string, amount decimal(18,2), placed_at timestamp"


@pytest.fixture
def ids(unique_name: str) -> dict[str, str]:
    return {"customer": f"c-{unique_name}", "terminal": f"t-{unique_name}"}


@pytest.fixture
def lake_settings(stack_settings: Settings, tmp_path) -> Settings:
    return stack_settings.model_copy(update={"lake_root": str(tmp_path / "lake"), "home": tmp_path / "home"})


@pytest.fixture
def redis_client(stack_settings: Settings, ids: dict[str, str]) -> Iterator[Redis]:
    client = Redis.from_url(stack_settings.redis_url, decode_responses=True)
    yield client
    client.delete(CUSTOMER_KEY.format(customer_id=ids["customer"]), TERMINAL_KEY.format(terminal_id=ids["terminal"]))
    client.close()


def write_silver_orders(spark: SparkSession, settings: Settings, ids: dict[str, str], now: datetime) -> str:
    """Three orders of one customer on one terminal in the last two days; no chargeback table yet."""
    rows = [
        (f"o-{ids['customer']}-{n}", ids["customer"], ids["terminal"], Decimal(amount), now - ago)
        for n, (amount, ago) in enumerate(
            [("10.00", timedelta(days=2)), ("20.00", timedelta(hours=5)), ("30.00", timedelta(hours=1))]
        )
    ]
    path = domain_lake(settings, "ecommerce").silver("orders")
    spark.createDataFrame(rows, ORDERS_SCHEMA).write.format("delta").save(path)
    return path


def test_the_fraud_group_materialises_from_silver(spark, lake_settings, ids, redis_client):
    orders_path = write_silver_orders(spark, lake_settings, ids, datetime.now(UTC))

    result = materialize(
        [fraud_training_set, fraud_classifier, fraud_online_features], resources=resources_for(lake_settings)
    )

    assert result.success
    training = result.asset_materializations_for_node(fraud_training_set.op.name)[0].metadata
    assert training["row_count"].value == 3 and training["frauds"].value == 0
    chargebacks_path = domain_lake(lake_settings, "ecommerce").silver("chargebacks")
    assert training["input_table_versions"].value == {orders_path: 0, chargebacks_path: -1}
    stored = spark.read.format("delta").load(f"{lake_settings.lake_uri}/features/fraud_training_set")
    assert stored.count() == 3

    classifier = result.asset_materializations_for_node(fraud_classifier.op.name)[0]
    assert classifier.asset_key == table_key("fraud", "models", "classifier")
    assert classifier.metadata["trained"].value is False  # three orders, no label: nothing to learn yet

    customer = redis_client.hgetall(CUSTOMER_KEY.format(customer_id=ids["customer"]))
    assert float(customer["customer_orders_1d"]) == 2 and float(customer["customer_spend_30d"]) == 60
    assert float(redis_client.hget(TERMINAL_KEY.format(terminal_id=ids["terminal"]), "terminal_orders_7d")) == 3
    assert datetime.fromisoformat(customer[AS_OF_FIELD]) <= datetime.now(UTC)
    ttl = redis_client.ttl(CUSTOMER_KEY.format(customer_id=ids["customer"]))
    assert 0 < ttl <= lake_settings.online_feature_ttl_s


def test_the_recorded_versions_and_cutoff_rebuild_the_training_set_exactly(spark, lake_settings, ids):
    now = datetime.now(UTC)
    ecommerce = domain_lake(lake_settings, "ecommerce")
    orders_path = write_silver_orders(spark, lake_settings, ids, now)
    first_order = f"o-{ids['customer']}-0"
    chargebacks = spark.createDataFrame([(first_order, now - timedelta(hours=3))], CHARGEBACKS_SCHEMA)
    chargebacks.write.format("delta").save(ecommerce.silver("chargebacks"))
    built = materialize([fraud_training_set], resources=resources_for(lake_settings))
    recorded = built.asset_materializations_for_node(fraud_training_set.op.name)[0].metadata

    # The lake moves on: a later order and a later chargeback, and the training set is built again over them.
    later = [(f"o-{ids['customer']}-9", ids["customer"], ids["terminal"], Decimal("99.00"), now)]
    spark.createDataFrame(later, ORDERS_SCHEMA).write.format("delta").mode("append").save(orders_path)
    late_filing = spark.createDataFrame([(f"o-{ids['customer']}-1", now)], CHARGEBACKS_SCHEMA)
    late_filing.write.format("delta").mode("append").save(ecommerce.silver("chargebacks"))
    assert materialize([fraud_training_set], resources=resources_for(lake_settings)).success

    inputs = read_recorded_inputs(spark, ecommerce, recorded["input_table_versions"].value)
    rebuilt = training_set_from(
        inputs.orders.frame, inputs.chargebacks.frame, datetime.fromisoformat(recorded["cutoff"].value)
    )
    path = f"{lake_settings.lake_uri}/features/fraud_training_set"
    as_built = spark.read.format("delta").option("versionAsOf", recorded["table_version"].value).load(path)
    assertDataFrameEqual(rebuilt, as_built)  # every row and value, in any order
    assert as_built.filter(f"{LABEL_COLUMN} = 1").count() == 1
    now_built = spark.read.format("delta").load(path)
    assert (now_built.count(), now_built.filter(f"{LABEL_COLUMN} = 1").count()) == (4, 2)
