"""The IoT lakehouse as the kit sees it: contract topics → bronze, silver flows, gold tables, expectations."""

from __future__ import annotations

from ingest.iot.contract import CONTRACT
from pipelines.core.domain import DomainLakehouse
from pipelines.iot.expectations import SILVER_EXPECTATIONS
from pipelines.iot.flows import FLOWS
from pipelines.iot.gold import GOLD_TABLES

LAKEHOUSE = DomainLakehouse(contract=CONTRACT, flows=FLOWS, gold=GOLD_TABLES, expectations=SILVER_EXPECTATIONS)
