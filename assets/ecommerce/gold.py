"""E-commerce gold: daily sales and customer spend, recomputed from silver on every run."""

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, asset

from assets.ecommerce.lake import ecommerce_lake, table_metadata
from assets.ecommerce.silver import silver_key
from assets.resources import LakehouseResource
from pipelines.ecommerce.gold import GOLD_TABLES, refresh_gold

DESCRIPTIONS = {
    "daily_sales_by_category": "Orders, units and revenue per category per day (cancelled orders excluded): "
    "what sells, and when.",
    "daily_sales_by_merchant": "Orders, revenue and chargebacks per merchant per day, with the chargeback rate "
    "card schemes watch.",
    "customer_spend": "Per customer: orders and spend over the last 1/7/30 days of data, average and spread of "
    "order amounts, first and last order, favourite category and usual hour: the baseline fraud features compare "
    "a new order against.",
}


def gold_asset(table: str) -> AssetsDefinition:
    @asset(
        name=f"ecommerce_{table}_gold",
        group_name="gold",
        kinds={"spark", "delta"},
        deps=[silver_key("orders"), silver_key("order_lines")],
        description=DESCRIPTIONS[table],
    )
    def _gold(context: AssetExecutionContext, lakehouse: LakehouseResource) -> MaterializeResult:
        spark, lake = lakehouse.spark(), ecommerce_lake(lakehouse.settings())
        path = refresh_gold(spark, lake, table)
        context.log.info(f"recomputed {path}")
        return MaterializeResult(metadata=table_metadata(spark, path))

    return _gold


GOLD_ASSETS = [gold_asset(table) for table in GOLD_TABLES]
