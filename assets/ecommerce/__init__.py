"""E-commerce: Kafka topics → bronze → silver (checked) → gold, with the schedule and sensor that run it."""

from dagster import Definitions

from assets.ecommerce.automation import ecommerce_events_waiting, ecommerce_every_15_minutes, ecommerce_job
from assets.ecommerce.bronze import ecommerce_bronze_assets
from assets.ecommerce.checks import SILVER_CHECKS
from assets.ecommerce.gold import GOLD_ASSETS
from assets.ecommerce.silver import SILVER_ASSETS

defs = Definitions(
    assets=[*ecommerce_bronze_assets(), *SILVER_ASSETS, *GOLD_ASSETS],
    asset_checks=SILVER_CHECKS,
    jobs=[ecommerce_job],
    schedules=[ecommerce_every_15_minutes],
    sensors=[ecommerce_events_waiting],
)
