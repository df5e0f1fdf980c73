"""A domain's whole Dagster definitions from its lakehouse declaration: one group named for the domain, keys
``[domain, layer, table]``, blocking checks on silver, and its own job, schedule and sensor."""

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from dagster import AssetChecksDefinition, AssetsDefinition, Definitions

from assets.core.automation import domain_automation
from assets.core.bronze import bronze_assets
from assets.core.checks import silver_checks
from assets.core.gold import gold_assets
from assets.core.maintenance import maintenance_asset, outbox_pruning_asset
from assets.core.silver import silver_assets
from pipelines.core.domain import DomainLakehouse


@dataclass(frozen=True)
class DomainAssets:
    bronze: list[AssetsDefinition]
    silver: list[AssetsDefinition]
    gold: list[AssetsDefinition]
    checks: list[AssetChecksDefinition]

    @property
    def assets(self) -> list[AssetsDefinition]:
        return [*self.bronze, *self.silver, *self.gold]


def domain_assets(
    domain: DomainLakehouse,
    silver_descriptions: Mapping[str, str],
    gold_descriptions: Mapping[str, str],
    topics: Mapping[str, str] | None = None,
    streamed: Collection[str] = (),
) -> DomainAssets:
    """Every asset and check of ``domain``; ``topics`` (entity → topic) replaces the contract's, for tests.

    ``streamed`` entities get no bronze or silver asset here: the domain's own stream asset materialises them.
    """
    topics = domain.contract.entities if topics is None else topics
    return DomainAssets(
        bronze=bronze_assets(domain, {entity: topic for entity, topic in topics.items() if entity not in streamed}),
        silver=silver_assets(domain, silver_descriptions, skip=streamed),
        gold=gold_assets(domain, gold_descriptions),
        checks=silver_checks(domain),
    )


def domain_definitions(
    domain: DomainLakehouse,
    silver_descriptions: Mapping[str, str],
    gold_descriptions: Mapping[str, str],
    streamed: Collection[str] = (),
) -> Definitions:
    built = domain_assets(domain, silver_descriptions, gold_descriptions, streamed=streamed)
    return Definitions.merge(
        Definitions(
            assets=[*built.assets, maintenance_asset(domain), outbox_pruning_asset(domain.name)],
            asset_checks=built.checks,
        ),
        domain_automation(domain.name, domain.contract.entities.values()),
    )
