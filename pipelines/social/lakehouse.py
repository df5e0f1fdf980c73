"""The social lakehouse as the kit sees it: contract topics → bronze, silver flows, gold tables, expectations."""

from __future__ import annotations

from ingest.social.contract import CONTRACT
from pipelines.core.domain import DomainLakehouse
from pipelines.social.expectations import SILVER_EXPECTATIONS
from pipelines.social.flows import FLOWS
from pipelines.social.gold import GOLD_TABLES

LAKEHOUSE = DomainLakehouse(contract=CONTRACT, flows=FLOWS, gold=GOLD_TABLES, expectations=SILVER_EXPECTATIONS)
