"""E-commerce silver: bronze parsed against the event contract, deduplicated, PII hashed, bad records quarantined.

One multi-asset per bronze topic (one streaming checkpoint each); it materialises every silver table the topic
feeds. Records that break the contract go to ``quarantine/ecommerce_events`` with a reason, and good ones keep
flowing.
"""

from collections.abc import Iterator

from dagster import AssetExecutionContext, AssetsDefinition, AssetSpec, MaterializeResult, multi_asset

from assets.ecommerce.lake import ecommerce_lake, flow_metadata, table_metadata
from assets.resources import LakehouseResource
from pipelines.ecommerce.flows import FLOWS
from pipelines.ecommerce.incremental import run_silver_flow

DESCRIPTIONS = {
    "customers": "Every registered customer, one row each, latest registration data; email only as a hash.",
    "products": "The product catalogue as it stands now: price, category and merchant per product.",
    "carts": "Each shopping cart's current contents and value: what customers are about to buy.",
    "orders": "One row per order placed: amounts, merchant, terminal, the card as a hash, current status and "
    "whether a chargeback was filed (the fraud label).",
    "order_lines": "What each order contained: product, category, quantity and price per line.",
    "order_status_changes": "Every status an order went through, when (paid, shipped, cancelled, review).",
    "payments": "Every captured payment, once, with its amount and method.",
    "chargebacks": "Every chargeback filed, once: the customer's bank disputing an order, usually as fraud.",
}
# Silver tables read beyond their own topic: an order's chargeback flag comes from the payments topic.
EXTRA_DEPS = {"orders": ["ecommerce_chargebacks_silver"]}


def silver_key(table: str) -> str:
    return f"ecommerce_{table}_silver"


def silver_flow_asset(entity: str) -> AssetsDefinition:
    flow = FLOWS[entity]
    specs = [
        AssetSpec(
            silver_key(target.table),
            group_name="silver",
            kinds={"spark", "delta"},
            description=DESCRIPTIONS[target.table],
            deps=[f"ecommerce_{entity}_bronze", *EXTRA_DEPS.get(target.table, [])],
        )
        for target in flow.targets
    ]

    @multi_asset(name=f"ecommerce_{entity}_silver_flow", specs=specs)
    def _silver(context: AssetExecutionContext, lakehouse: LakehouseResource) -> Iterator[MaterializeResult]:
        spark, lake = lakehouse.spark(), ecommerce_lake(lakehouse.settings())
        report = run_silver_flow(spark, flow, lake)
        context.log.info(f"{entity}: merged {dict(report.merged)}, quarantined {report.quarantined}")
        for target in flow.targets:
            metadata = {**table_metadata(spark, lake.silver(target.table)), **flow_metadata(report, target.table)}
            yield MaterializeResult(asset_key=silver_key(target.table), metadata=metadata)

    return _silver


SILVER_ASSETS = [silver_flow_asset(entity) for entity in FLOWS]
SILVER_TABLES = [target.table for flow in FLOWS.values() for target in flow.targets]
