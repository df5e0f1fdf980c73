"""The chat lakehouse as the kit sees it: contract topics → bronze, silver flows, gold tables, expectations."""

from __future__ import annotations

from ingest.chat.contract import CONTRACT
from pipelines.chat.expectations import SILVER_EXPECTATIONS
from pipelines.chat.flows import FLOWS
from pipelines.chat.gold import GOLD_TABLES
from pipelines.core.domain import DomainLakehouse

LAKEHOUSE = DomainLakehouse(contract=CONTRACT, flows=FLOWS, gold=GOLD_TABLES, expectations=SILVER_EXPECTATIONS)
