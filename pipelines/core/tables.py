"""Where a domain's tables live: the caller (an asset, a test) says where the lake is, this says what's in it.

Every domain gets the same layout under the lake root: ``bronze/<domain>_<entity>`` per topic,
``silver/<domain>_<table>``, ``gold/<domain>_<table>`` and one ``quarantine/<domain>_events`` for every record its
silver refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from lakehouse import lake
from lakehouse.settings import Settings


@dataclass(frozen=True)
class DomainLake:
    """``table(layer, name)`` and ``checkpoint(layer, name)`` paths, e.g. ``partial(lake.table_path, settings)``."""

    domain: str
    table: Callable[[str, str], str]
    checkpoint: Callable[[str, str], str]

    def name(self, table: str) -> str:
        """The table's name in the lake (and in a catalog): the domain's prefix keeps domains apart."""
        return f"{self.domain}_{table}"

    def bronze(self, entity: str) -> str:
        return self.table("bronze", self.name(entity))

    def silver(self, name: str) -> str:
        return self.table("silver", self.name(name))

    def gold(self, name: str) -> str:
        return self.table("gold", self.name(name))

    def quarantine(self) -> str:
        return self.table("quarantine", self.name("events"))

    def bronze_checkpoint(self, entity: str) -> str:
        return self.checkpoint("bronze", self.name(entity))

    def silver_checkpoint(self, flow: str) -> str:
        return self.checkpoint("silver", self.name(flow))


def domain_lake(settings: Settings, domain: str) -> DomainLake:
    """The layout of ``domain``'s tables under the lake root that ``settings`` names."""
    return DomainLake(domain, partial(lake.table_path, settings), partial(lake.checkpoint_path, settings))
