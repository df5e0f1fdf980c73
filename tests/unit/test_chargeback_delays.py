"""Chargeback delays of the traffic generator: realistic by default (mostly one to three weeks after the order,
a tail later), or one fixed delay for every chargeback; either way deterministic, and without changing the orders
or, for configs that do not set a fixed delay, their ids."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from datetime import UTC, datetime, timedelta

import pytest

from ingest.ecommerce.fraud_patterns import FraudConfig
from ingest.ecommerce.generator import (
    MAX_CHARGEBACK_DAYS,
    SimulatedOrder,
    TrafficSimulator,
    realistic_chargeback_delay_days,
    simulate,
)
from ingest.ecommerce.population import PopulationConfig
from ingest.ecommerce.traffic import TrafficConfig

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
SMALL_WORLD = PopulationConfig(customers=300, merchants=40)


def config(**changes: object) -> TrafficConfig:
    settings = {"seed": 11, "count": 3000, "days": 20, "now": NOW, "population": SMALL_WORLD}
    settings |= {"fraud": FraudConfig(rate=0.05), "friendly_chargeback_rate": 0.02}
    return TrafficConfig(**(settings | changes))  # type: ignore[arg-type]


def delays_in_days(orders: list[SimulatedOrder]) -> list[float]:
    charged = [o.transaction for o in orders if o.transaction.chargeback_at is not None]
    return [(tx.chargeback_at - tx.placed_at) / timedelta(days=1) for tx in charged]  # type: ignore[operator]


@pytest.fixture(scope="module")
def many_frauds() -> list[SimulatedOrder]:
    """About 3,700 fraud orders (20% of 20,000), each with a drawn chargeback delay."""
    fraudy = config(count=20_000, days=30, fraud=FraudConfig(rate=0.2), friendly_chargeback_rate=0.0)
    return list(simulate(fraudy))


def test_a_fixed_delay_gives_every_chargeback_exactly_that_delay() -> None:
    orders = list(simulate(config(chargeback_delay_days=7.5)))
    frauds = [o for o in orders if o.pattern is not None]
    friendly = [o for o in orders if o.friendly_chargeback]
    assert len(frauds) > 50 and friendly
    assert all(o.transaction.chargeback_at is not None for o in frauds + friendly)
    assert set(delays_in_days(orders)) == {7.5}


def test_realistic_delays_are_mostly_one_to_three_weeks_with_a_later_tail(many_frauds) -> None:
    delays = delays_in_days(many_frauds)
    assert len(delays) == sum(o.pattern is not None for o in many_frauds) > 3000
    share = lambda keep: sum(map(keep, delays)) / len(delays)  # noqa: E731
    # A lognormal with median 12 days and sigma 0.5 puts 72.8% in [7, 21] days and 13.2% beyond 21 (from the
    # normal CDF at ln(7/12)/0.5 and ln(21/12)/0.5); the exponential of before put about 28% in [7, 21].
    assert share(lambda d: 7 <= d <= 21) > 0.65
    assert 0.08 < share(lambda d: d > 21) < 0.2
    assert share(lambda d: d < 7) < 0.2
    assert min(delays) >= 1 and max(delays) <= MAX_CHARGEBACK_DAYS == 120
    assert 11 < sorted(delays)[len(delays) // 2] < 13


def test_the_realistic_distribution_at_known_quantiles_and_at_its_floor_and_cap() -> None:
    assert realistic_chargeback_delay_days(0.5) == pytest.approx(12.0)
    # One standard deviation above the mean of log-delays: 12 * e^0.5 days.
    assert realistic_chargeback_delay_days(0.5 * (1 + math.erf(1 / math.sqrt(2)))) == pytest.approx(12 * math.e**0.5)
    assert realistic_chargeback_delay_days(0.0) == 1.0
    assert realistic_chargeback_delay_days(1.0) == 120.0


@pytest.mark.parametrize("delay", [0, -1.0, math.nan, math.inf])
def test_a_fixed_delay_must_be_a_positive_number_of_days(delay: float) -> None:
    with pytest.raises(ValueError, match="chargeback_delay_days: a fixed delay must be a positive number of days"):
        config(chargeback_delay_days=delay)


def test_the_same_config_draws_the_same_chargeback_times() -> None:
    first, second = list(simulate(config())), list(simulate(config()))
    times = [[(o.transaction.transaction_id, o.transaction.chargeback_at) for o in run] for run in (first, second)]
    assert times[0] == times[1] and any(at for _, at in times[0])
    reseeded = [o.transaction.chargeback_at for o in simulate(config(seed=12)) if o.transaction.chargeback_at]
    assert reseeded[:20] != [at for _, at in times[0] if at][:20]


def test_the_delay_rule_is_part_of_the_order_ids() -> None:
    default = config()
    # The id tag as the generator built it before chargeback delays changed: a replay of such a run must not send
    # its order ids again with chargebacks filed at other times (the shop would refuse them as conflicts).
    shape = (default.count, default.rate, default.days, default.fraud, default.friendly_chargeback_rate)
    shape += (default.population, default.currency, NOW.isoformat())
    tag_before = hashlib.sha256(repr(shape).encode()).hexdigest()[:8]
    tag = TrafficSimulator(default, NOW).tag
    assert tag != tag_before and TrafficSimulator(config(), NOW).tag == tag
    assert next(simulate(default)).transaction.transaction_id == f"o11-{tag}-00000001"
    fixed_tags = {TrafficSimulator(config(chargeback_delay_days=d), NOW).tag for d in (7.0, 14.0)}
    assert len(fixed_tags) == 2 and not {tag_before, tag} & fixed_tags  # another config never reuses an order id


def test_the_delay_rule_changes_only_chargeback_times_not_the_orders() -> None:
    def without_id_and_delay(order: SimulatedOrder) -> tuple[object, ...]:
        tx = dataclasses.replace(order.transaction, transaction_id="", chargeback_at=None)
        return tx, order.pattern, order.friendly_chargeback

    realistic, fixed = list(simulate(config())), list(simulate(config(chargeback_delay_days=3.0)))
    assert list(map(without_id_and_delay, realistic)) == list(map(without_id_and_delay, fixed))
    assert delays_in_days(realistic) != delays_in_days(fixed)
