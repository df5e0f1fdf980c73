"""The code location as Dagster loads it: one group per domain and per model, keys ``[owner, layer, table]``, one
job, schedule and sensor per domain selecting only its own group, the maintenance assets in a group and a daily
job of their own, resources configured once, one executor, and each step's lane in it."""

from __future__ import annotations

import pytest
from dagster import AssetKey, Definitions

from assets.core.domain import domain_assets
from assets.core.executor import LANE_TAG, SERIAL
from assets.ecommerce import descriptions
from ingest.domains import DOMAINS
from pipelines.ecommerce.lakehouse import LAKEHOUSE

MODELS = ("fraud", "sentiment", "anomaly")
LAYERS = {"bronze", "silver", "gold", "features", "models"}


@pytest.fixture(scope="module")
def defs() -> Definitions:
    from assets.definitions import defs

    return defs


def test_every_asset_is_keyed_by_its_group_layer_and_table(defs) -> None:
    graph = defs.resolve_asset_graph()
    keys = list(graph.get_all_asset_keys())
    assert keys, "the code location defines no asset"
    for key in keys:
        owner, layer, _table = key.path
        group = "maintenance" if layer == "maintenance" else owner  # each domain's upkeep: a group of its own
        assert graph.get(key).group_name == group and layer in LAYERS | {"maintenance"}, key
    assert {key.path[0] for key in keys} == {*DOMAINS, *MODELS}


@pytest.mark.parametrize("domain", DOMAINS)
def test_each_domain_has_its_own_job_schedule_and_sensor_selecting_only_its_group(defs, domain) -> None:
    job = defs.resolve_job_def(f"{domain}_lakehouse")
    selected = set(job.asset_layer.executable_asset_keys)
    everything = set(defs.resolve_asset_graph().get_all_asset_keys())
    assert selected == {key for key in everything if key.path[0] == domain and key.path[1] != "maintenance"}
    assert defs.resolve_schedule_def(f"{domain}_every_15_minutes").job_name == job.name
    assert defs.resolve_sensor_def(f"{domain}_events_waiting").job_name == job.name


def test_maintenance_is_tables_and_outbox_per_domain_run_daily_by_its_own_job(defs) -> None:
    job = defs.resolve_job_def("lakehouse_maintenance")
    expected = {AssetKey([d, "maintenance", what]) for d in DOMAINS for what in ("tables", "outbox")}
    assert set(job.asset_layer.executable_asset_keys) == expected
    schedule = defs.resolve_schedule_def("lakehouse_maintenance_daily")
    assert (schedule.job_name, schedule.cron_schedule) == (job.name, "0 3 * * *")


def test_resources_are_configured_once_and_every_run_shares_one_process(defs) -> None:
    repository = defs.get_repository_def()
    assert set(repository.get_top_level_resources()) >= {"lakehouse", "redis"}
    assert {job.executor_def.name for job in repository.get_all_jobs()} == {"lakehouse_threads"}


def test_each_bronze_topic_and_gold_table_has_a_lane_of_its_own_and_a_domain_s_silver_shares_one(defs) -> None:
    """The executor overlaps steps of different lanes: a domain's silver flows share its quarantine table, so they
    must not overlap; a bronze or gold step writes only its own table; model steps stay in the serial lane."""
    lanes: dict[AssetKey, str] = {}
    for assets_def in defs.assets:
        for key in assets_def.keys:
            lanes[key] = assets_def.op.tags.get(LANE_TAG, SERIAL)
    for key, lane in lanes.items():
        owner, layer, table = key.path
        if owner in MODELS:
            assert lane == SERIAL, key
        elif layer == "silver":
            assert lane == f"{owner}-silver", key
        elif layer in ("bronze", "gold") and lane != f"{owner}-silver":  # IoT's telemetry stream writes its bronze
            assert lane == f"{owner}-{layer}-{table}", key
    bronze_and_gold = [lane for key, lane in lanes.items() if key.path[1] in ("bronze", "gold")]
    assert len(set(bronze_and_gold)) >= len(bronze_and_gold) - 1  # unique but for the stream's bronze


def test_the_ecommerce_factories_read_lineage_from_the_declaration() -> None:
    built = domain_assets(LAKEHOUSE, descriptions.SILVER, descriptions.GOLD)
    specs = {spec.key: spec for asset in built.silver for spec in asset.specs}
    orders = specs[AssetKey(["ecommerce", "silver", "orders"])]
    # Its own bronze topic, and the chargebacks its flag comes from (declared as `reads` on the silver target).
    assert {dep.asset_key for dep in orders.deps} == {
        AssetKey(["ecommerce", "bronze", "orders"]),
        AssetKey(["ecommerce", "silver", "chargebacks"]),
    }
    assert len(built.checks) == len(LAKEHOUSE.silver_tables) == 8
