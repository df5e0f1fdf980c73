"""The e-commerce lakehouse as the kit sees it: contract topics → bronze, silver flows, gold tables, expectations."""

from __future__ import annotations

from ingest.ecommerce.contract import CONTRACT
from pipelines.core.domain import DomainLakehouse
from pipelines.ecommerce.expectations import SILVER_EXPECTATIONS
from pipelines.ecommerce.flows import FLOWS
from pipelines.ecommerce.gold import GOLD_TABLES

LAKEHOUSE = DomainLakehouse(
    contract=CONTRACT,
    flows=FLOWS,
    gold=GOLD_TABLES,
    expectations=SILVER_EXPECTATIONS,
    # Orders are read per customer (its history, the fraud features) and per terminal, over a time range.
    zorder={"orders": ("customer_id", "placed_at")},
)
