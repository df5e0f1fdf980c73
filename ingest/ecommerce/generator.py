"""Synthetic e-commerce traffic with labelled fraud: the commands a shop would receive, in time order.

``generate(config, sink, progress)`` sends the catalogue and the customers, then every order (PlaceOrder then
CapturePayment) and, mostly one to three weeks later, the chargebacks of fraudulent orders, each at its filing time
and only if it was filed by the end of the run (later ones are pending, as in real life). ``simulate(config)``
yields the same orders as ``Transaction`` records, which ``write_csv`` saves in the importer's format.

Deterministic: one ``random.Random(seed)`` drives everything, and ids derive from the seed and the config, so
replaying a config is idempotent while another config never reuses an order id.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from statistics import NormalDist

from ingest.core.progress import Progress, ProgressMeter
from ingest.ecommerce.commands import Command
from ingest.ecommerce.fraud_patterns import FraudInjector
from ingest.ecommerce.population import Customer, Population, build_population
from ingest.ecommerce.shopping import Shopper
from ingest.ecommerce.traffic import TrafficConfig, TrafficSummary
from ingest.ecommerce.transaction_csv import write_csv
from ingest.ecommerce.transactions import OrderStream, Sink, Transaction

__all__ = ["TrafficConfig", "TrafficSummary", "generate", "simulate", "write_csv"]

# Customers exist before this moment (or before the window, if earlier), so every window shares one world and
# a replay over another window re-registers nobody differently.
WORLD_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
# Chargeback delays: a fraud shows on the cardholder's next monthly statement, then the cardholder disputes it and
# the issuer files it, so real chargebacks come 1-3 weeks after the order, with a tail. A lognormal with median 12
# days and sigma 0.5 puts 73% of them in [7, 21] days, 14% earlier, 13% later and 3% beyond 30 days. Card networks
# give cardholders 120 days to dispute, hence the cap; no issuer files within the day, hence the floor (both bind
# less than once in 100,000 draws: they only keep a freak draw from leaving the possible range).
CHARGEBACK_MEDIAN_DAYS = 12.0
CHARGEBACK_SIGMA = 0.5
MIN_CHARGEBACK_DAYS = 1.0
MAX_CHARGEBACK_DAYS = 120.0
FRIENDLY_CHARGEBACK_REASON = "friendly"  # an honest order disputed anyway (label noise)
CHARGEBACK_DELAY_RULE = f"lognormal(median={CHARGEBACK_MEDIAN_DAYS:g}, sigma={CHARGEBACK_SIGMA:g})"
_LOG_DELAY = NormalDist(math.log(CHARGEBACK_MEDIAN_DAYS), CHARGEBACK_SIGMA)
_OPEN_UNIT = 1e-12  # keeps a uniform draw inside (0, 1), where the inverse CDF is defined


def realistic_chargeback_delay_days(quantile: float) -> float:
    """The chargeback delay (days) at ``quantile`` of the realistic distribution (inverse transform sampling)."""
    quantile = min(max(quantile, _OPEN_UNIT), 1 - _OPEN_UNIT)
    return min(max(math.exp(_LOG_DELAY.inv_cdf(quantile)), MIN_CHARGEBACK_DAYS), MAX_CHARGEBACK_DAYS)


@dataclass(frozen=True)
class SimulatedOrder:
    transaction: Transaction
    pattern: str | None  # the fraud pattern behind it; None: honest
    friendly_chargeback: bool = False


class TrafficSimulator:
    def __init__(self, config: TrafficConfig, now: datetime) -> None:
        self.config = config
        self.now = now
        self.rng = random.Random(config.seed)
        born_before = min(WORLD_EPOCH, now - timedelta(days=config.days))
        self.population: Population = build_population(config.population, self.rng, config.seed, born_before)
        self.shopper = Shopper(self.population, self.rng)
        self.injector = FraudInjector(self.population, self.shopper, self.rng, config.fraud)
        # Everything that shapes the orders goes into their ids: another config never reuses an order id.
        shape = (config.count, config.rate, config.days, config.fraud, config.friendly_chargeback_rate)
        shape += (config.population, config.currency, now.isoformat())
        # The delay rule too: a run made before delays were drawn this way filed its chargebacks at other times, and
        # replaying its ids with new filing times would conflict with what the shop already recorded.
        shape += (("chargeback_delay_days", config.chargeback_delay_days or CHARGEBACK_DELAY_RULE),)
        self.tag = hashlib.sha256(repr(shape).encode()).hexdigest()[:8]
        self._weights = [c.habit.orders_per_day for c in self.population.customers]

    def history(self) -> Iterator[SimulatedOrder]:
        """``count`` orders over the ``days`` before ``now``, day after day, in time order."""
        count, days = self.config.count or 0, self.config.days
        start = self.now - timedelta(days=days)
        number = 0
        for day in range(days):
            day_start = start + timedelta(days=day)
            todays = count // days + (1 if day < count % days else 0)
            customers = self.rng.choices(self.population.customers, weights=self._weights, k=todays)
            moments = sorted((self._moment(day_start, c), n) for n, c in enumerate(customers))
            for placed_at, n in moments:
                number += 1
                yield self.order(customers[n], placed_at, number)

    def live(self, clock: Iterator[datetime]) -> Iterator[SimulatedOrder]:
        """Orders stamped with the times ``clock`` yields (the wall clock, paced by the caller)."""
        for number, placed_at in enumerate(clock, start=1):
            customer = self.rng.choices(self.population.customers, weights=self._weights)[0]
            yield self.order(customer, placed_at, number)

    def order(self, customer: Customer, placed_at: datetime, number: int) -> SimulatedOrder:
        draft, pattern = self.injector.inspect(customer, placed_at, self.shopper.honest_order(customer))
        friendly = pattern is None and self.rng.random() < self.config.friendly_chargeback_rate
        tx = Transaction(
            transaction_id=f"o{self.config.seed}-{self.tag}-{number:08d}",
            placed_at=placed_at,
            customer_id=customer.customer_id,
            merchant_id=draft.terminal.merchant_id,
            terminal_id=draft.terminal.terminal_id,
            card_number=draft.card_number,
            product_id=draft.product.product_id,
            category=draft.product.category,
            amount=Decimal(draft.product.price),
            currency=self.config.currency,
            is_fraud=pattern is not None,
            chargeback_at=self._chargeback_at(placed_at) if pattern or friendly else None,
            chargeback_reason=f"fraud:{pattern}" if pattern else FRIENDLY_CHARGEBACK_REASON,
        )
        return SimulatedOrder(tx, pattern, friendly)

    def _moment(self, day_start: datetime, customer: Customer) -> datetime:
        """A time within the 24 hours from ``day_start`` at the customer's usual hour of day (UTC)."""
        hour = self.rng.gauss(customer.habit.active_hour, customer.habit.active_spread_hours) % 24
        start_hour = day_start.hour + day_start.minute / 60 + day_start.second / 3600
        return day_start + timedelta(seconds=int((hour - start_hour) % 24 * 3600))

    def _chargeback_at(self, placed_at: datetime) -> datetime:
        # Exactly one uniform draw per chargeback, whatever the delay rule (as the exponential draw before): the
        # orders that follow, and so a replay's order contents, do not depend on how the delays are drawn.
        quantile = self.rng.random()
        if (fixed := self.config.chargeback_delay_days) is not None:
            return placed_at + timedelta(days=fixed)
        return placed_at + timedelta(seconds=int(realistic_chargeback_delay_days(quantile) * 86_400))


def simulate(config: TrafficConfig) -> Iterator[SimulatedOrder]:
    """The orders of a count-mode run, with their ground truth, in time order (no population commands)."""
    if config.rate is not None:
        raise ValueError("simulate: live traffic (rate) has no fixed history; use generate")
    return TrafficSimulator(config, config.window_end()).history()


def generate(config: TrafficConfig, sink: Sink, progress: Progress | None = None) -> TrafficSummary:
    """Send the traffic ``config`` describes to ``sink`` in time order; see the module docstring."""
    summary = TrafficSummary()

    def counting_sink(command: Command) -> None:
        summary.commands[type(command).__name__] += 1
        sink(command)

    meter = ProgressMeter(progress, every=config.progress_every)
    live = config.rate is not None
    simulator = TrafficSimulator(config, datetime.now(UTC) if live else config.window_end())
    for command in simulator.population.commands():
        counting_sink(command)
    stream = OrderStream(counting_sink)
    try:
        for order in simulator.live(_paced_clock(config)) if live else simulator.history():
            stream.add(order.transaction)
            _record(summary, order)
            meter.update(summary.orders, lambda: _progress_line(summary, meter))
    except KeyboardInterrupt:
        if not live:
            raise
        summary.interrupted = True  # live traffic runs until stopped; what was sent stays sent
    summary.chargebacks_pending = stream.finish(datetime.now(UTC) if live else simulator.now)
    summary.chargebacks_emitted = summary.commands["FileChargeback"]
    summary.elapsed_seconds = meter.elapsed()
    meter.finish(lambda: _progress_line(summary, meter))
    return summary


def _paced_clock(config: TrafficConfig) -> Iterator[datetime]:
    """The wall-clock time of each live order, sleeping so orders leave at ``rate`` per second."""
    assert config.rate is not None
    started = time.monotonic()
    number = 0
    while config.count is None or number < config.count:
        due = started + number / config.rate
        if config.max_seconds is not None and due - started >= config.max_seconds:
            return
        time.sleep(max(0.0, due - time.monotonic()))
        number += 1
        yield datetime.now(UTC)


def _record(summary: TrafficSummary, order: SimulatedOrder) -> None:
    tx = order.transaction
    summary.orders += 1
    summary.first_order_at = summary.first_order_at or tx.placed_at
    summary.last_order_at = tx.placed_at
    if order.pattern is not None:
        summary.fraud_order_ids.append(tx.transaction_id)
        summary.fraud_by_pattern[order.pattern] += 1
    if order.friendly_chargeback:
        summary.friendly_chargeback_order_ids.append(tx.transaction_id)


def _progress_line(summary: TrafficSummary, meter: ProgressMeter) -> str:
    return (
        f"orders {summary.orders} ({meter.per_second(summary.orders):.0f}/s), fraud {len(summary.fraud_order_ids)}, "
        f"chargebacks {summary.commands['FileChargeback']}"
    )
