"""How a domain declares its silver: which silver tables each bronze topic feeds, and how (insert-once event rows
or newest-wins current state), plus the steps that run after each batch or after the run."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from pydantic import BaseModel
from pyspark.sql import DataFrame, SparkSession

from ingest.core.contract import DomainContract, EventKey
from pipelines.core.parse import ParsedBatch
from pipelines.core.tables import DomainLake


@dataclass(frozen=True)
class SilverTarget:
    """One silver table fed by one event type. ``newer_by`` set: current state; unset: each key inserted once.

    Keys are the business identifiers callers choose (commands are idempotent by them), so an event re-sent with
    a fresh event_id is still recognised; events without one are keyed by their event_id.

    The table also gets ``_rescued_data``: the payload fields the contract does not know, joined back to ``rows``
    by ``event_id`` (rows that keep no event_id cannot have them; README "Changing an event contract").
    """

    table: str
    event: EventKey
    rows: Callable[[DataFrame], DataFrame]
    keys: tuple[str, ...]
    newer_by: str | None = None
    # Other silver tables this one is derived from too (an order's chargeback flag comes from chargebacks).
    reads: tuple[str, ...] = ()
    # Boolean columns of ``rows`` counted per run (e.g. readings that arrived late); counting also counts the rows.
    flags: tuple[str, ...] = ()
    # Other versions of the event feeding this table, each with its own rows function: their rows are merged with
    # ``event``'s, and a column they lack is null (how a contract change keeps its history; README "Changing an
    # event contract"). The table's columns are ``rows``'s.
    versions: tuple[tuple[EventKey, Callable[[DataFrame], DataFrame]], ...] = ()

    @property
    def events(self) -> dict[EventKey, Callable[[DataFrame], DataFrame]]:
        """Every event feeding the table with its rows function, ``event`` first."""
        return {self.event: self.rows, **dict(self.versions)}


AfterBatch = Callable[[SparkSession, DomainLake, ParsedBatch], dict[str, int]]
AfterRun = Callable[[SparkSession, DomainLake], dict[str, int]]


@dataclass(frozen=True)
class SilverFlow:
    """Everything silver does with one bronze table (one topic of ``contract``); one streaming checkpoint per flow."""

    contract: DomainContract
    entity: str
    targets: tuple[SilverTarget, ...]
    after_batch: tuple[AfterBatch, ...] = field(default=())
    after_run: tuple[AfterRun, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.entity not in self.contract.entities:
            raise ValueError(f"{self.contract.name} has no entity {self.entity!r}: {sorted(self.contract.entities)}")
        strays = [t.table for t in self.targets if any(key not in self.handled for key in t.events)]
        if strays:
            raise ValueError(f"{self.entity}: silver table(s) {strays} read events not published to {self.topic}")

    @property
    def topic(self) -> str:
        return self.contract.entities[self.entity]

    @property
    def handled(self) -> dict[EventKey, type[BaseModel]]:
        """The events published to this flow's topic: parsed here, anything else on it is quarantined."""
        return self.contract.events_on(self.topic)

    @property
    def known(self) -> Collection[EventKey]:
        """Every event of the domain: one on the wrong topic is quarantined as misrouted, not as unknown."""
        return self.contract.events.keys()


def silver_flows(*flows: SilverFlow) -> dict[str, SilverFlow]:
    """Flows keyed by entity, refusing two flows for one topic (they would share a checkpoint)."""
    by_entity: dict[str, SilverFlow] = {}
    for flow in flows:
        if flow.entity in by_entity:
            raise ValueError(f"two silver flows for {flow.entity!r}")
        by_entity[flow.entity] = flow
    return by_entity
