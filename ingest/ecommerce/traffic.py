"""What the traffic generator is asked for (``TrafficConfig``) and what it reports back (``TrafficSummary``)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ingest.ecommerce.fraud_patterns import FraudConfig
from ingest.ecommerce.population import PopulationConfig


@dataclass(frozen=True)
class TrafficConfig:
    """``count`` orders over ``days`` ending at ``now``, as fast as possible; or, with ``rate`` (orders per
    second), live traffic stamped with the wall clock until ``count`` orders or ``max_seconds`` (None: until
    interrupted). The same config with the same ``now`` always yields the same commands."""

    seed: int = 0
    count: int | None = 10_000
    rate: float | None = None
    days: int = 30
    now: datetime | None = None  # None: the start of the current UTC hour
    fraud: FraudConfig = field(default_factory=FraudConfig)
    friendly_chargeback_rate: float = 0.0  # honest orders disputed anyway: label noise, as in real life
    # Days from an order to its chargeback. None: drawn as in real life (mostly one to three weeks, see
    # ``generator.realistic_chargeback_delay_days``); a number: every chargeback exactly that late (a fixed label
    # delay, for experiments that need one).
    chargeback_delay_days: float | None = None
    population: PopulationConfig = field(default_factory=PopulationConfig)
    currency: str = "EUR"
    max_seconds: float | None = None
    progress_every: int = 10_000

    def __post_init__(self) -> None:
        if self.rate is None and (self.count is None or self.count < 0):
            raise ValueError("count: give a number of orders (>= 0), or a rate for live traffic")
        if self.rate is not None and self.rate <= 0:
            raise ValueError("rate: orders per second must be positive")
        if self.days < 1:
            raise ValueError("days: the simulated window must be at least one day")
        if self.now is not None and self.now.tzinfo is None:
            raise ValueError("now: give a timezone-aware time, e.g. 2024-06-01T00:00:00+00:00")
        delay = self.chargeback_delay_days
        if delay is not None and not (delay > 0 and math.isfinite(delay)):
            raise ValueError(
                f"chargeback_delay_days: a fixed delay must be a positive number of days, got {delay} "
                "(leave it unset for realistic delays)"
            )

    def window_end(self) -> datetime:
        return self.now or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass
class TrafficSummary:
    commands: Counter[str] = field(default_factory=Counter)  # command type name -> how many were sent
    orders: int = 0
    fraud_order_ids: list[str] = field(default_factory=list)  # ground truth, known here only
    fraud_by_pattern: Counter[str] = field(default_factory=Counter)
    friendly_chargeback_order_ids: list[str] = field(default_factory=list)
    chargebacks_emitted: int = 0
    chargebacks_pending: int = 0  # filed after the end of the run: not known yet
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None
    elapsed_seconds: float = 0.0
    interrupted: bool = False

    @property
    def fraud_rate(self) -> float:
        return len(self.fraud_order_ids) / self.orders if self.orders else 0.0

    @property
    def orders_per_second(self) -> float:
        return self.orders / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def describe(self) -> str:
        by_type = ", ".join(f"{name} {n}" for name, n in sorted(self.commands.items()))
        patterns = ", ".join(f"{name} {n}" for name, n in sorted(self.fraud_by_pattern.items())) or "none"
        return (
            f"{self.orders} orders in {self.elapsed_seconds:.1f}s ({self.orders_per_second:.0f}/s), "
            f"{self.first_order_at} .. {self.last_order_at}; fraud {len(self.fraud_order_ids)} "
            f"({self.fraud_rate:.2%}: {patterns}); chargebacks {self.chargebacks_emitted} emitted, "
            f"{self.chargebacks_pending} pending; commands: {by_type}"
        )
