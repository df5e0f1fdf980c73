"""Gold for any domain: each declared gold table recomputed from silver on every run."""

from collections.abc import Mapping

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, asset

from assets.core.keys import table_key
from assets.core.lake import table_metadata
from assets.resources import LakehouseResource
from pipelines.core.domain import DomainLakehouse, GoldTable, refresh_gold
from pipelines.core.tables import domain_lake


def gold_asset(domain: str, name: str, table: GoldTable, description: str) -> AssetsDefinition:
    @asset(
        key=table_key(domain, "gold", name),
        group_name=domain,
        kinds={"spark", "delta"},
        deps=[table_key(domain, "silver", silver) for silver in table.reads],
        description=description,
    )
    def _gold(context: AssetExecutionContext, lakehouse: LakehouseResource) -> MaterializeResult:
        spark, lake = lakehouse.spark(), domain_lake(lakehouse.settings(), domain)
        path = refresh_gold(spark, lake, name, table)
        context.log.info(f"recomputed {path}")
        return MaterializeResult(metadata=table_metadata(path))

    return _gold


def gold_assets(domain: DomainLakehouse, descriptions: Mapping[str, str]) -> list[AssetsDefinition]:
    missing = sorted(set(domain.gold) - set(descriptions))
    if missing:
        raise ValueError(f"{domain.name}: describe gold table(s) {missing}")
    return [gold_asset(domain.name, name, table, descriptions[name]) for name, table in domain.gold.items()]
