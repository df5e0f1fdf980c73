"""Silver for any domain: bronze parsed against the contract, deduplicated, bad records quarantined with a reason.

One multi-asset per bronze topic (one streaming checkpoint each); it materialises every silver table the topic
feeds. Records that break the contract go to ``quarantine/<domain>_events`` with a reason; good ones keep flowing.
"""

from collections.abc import Collection, Iterator, Mapping

from dagster import AssetExecutionContext, AssetsDefinition, AssetSpec, MaterializeResult, multi_asset

from assets.core.executor import lane
from assets.core.keys import table_key
from assets.core.lake import flow_metadata, table_metadata
from assets.core.partitions import SINGLE_RUN
from assets.resources import LakehouseResource
from pipelines.core.domain import DomainLakehouse
from pipelines.core.flow import SilverFlow
from pipelines.core.incremental import run_silver_flow
from pipelines.core.tables import domain_lake


def silver_flow_asset(domain: str, flow: SilverFlow, descriptions: Mapping[str, str]) -> AssetsDefinition:
    specs = [
        AssetSpec(
            table_key(domain, "silver", target.table),
            group_name=domain,
            kinds={"spark", "delta"},
            description=descriptions[target.table],
            deps=[
                table_key(domain, "bronze", flow.entity),
                *(table_key(domain, "silver", table) for table in target.reads),
            ],
        )
        for target in flow.targets
    ]

    @multi_asset(
        name=f"{domain}_{flow.entity}_silver_flow",
        specs=specs,
        op_tags=lane(f"{domain}-silver"),
        backfill_policy=SINGLE_RUN,
    )
    def _silver(context: AssetExecutionContext, lakehouse: LakehouseResource) -> Iterator[MaterializeResult]:
        spark, lake = lakehouse.spark(), domain_lake(lakehouse.settings(), domain)
        report = run_silver_flow(spark, flow, lake)
        context.log.info(f"{flow.entity}: merged {dict(report.merged)}, quarantined {report.quarantined}")
        for target in flow.targets:
            metadata = {**table_metadata(lake.silver(target.table)), **flow_metadata(report, target.table)}
            yield MaterializeResult(asset_key=table_key(domain, "silver", target.table), metadata=metadata)

    return _silver


def silver_assets(
    domain: DomainLakehouse, descriptions: Mapping[str, str], skip: Collection[str] = ()
) -> list[AssetsDefinition]:
    """One multi-asset per flow (but those of the ``skip`` entities); every silver table needs a description."""
    missing = sorted(set(domain.silver_tables) - set(descriptions))
    if missing:
        raise ValueError(f"{domain.name}: describe silver table(s) {missing}")
    flows = [flow for flow in domain.flows.values() if flow.entity not in skip]
    return [silver_flow_asset(domain.name, flow, descriptions) for flow in flows]
