"""The traffic generator: deterministic, time-ordered, referentially sound, with fraud at the asked rate and
chargebacks that arrive late, only for fraud, and never from the future."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from ingest.ecommerce.cards import is_luhn_valid
from ingest.ecommerce.commands import (
    CapturePayment,
    Command,
    FileChargeback,
    PlaceOrder,
    RegisterCustomer,
    UpsertProduct,
)
from ingest.ecommerce.fraud_patterns import COMPROMISED_TERMINAL, UNUSUAL_AMOUNT, FraudConfig
from ingest.ecommerce.generator import TrafficConfig, generate, simulate
from ingest.ecommerce.population import PopulationConfig

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
SMALL_WORLD = PopulationConfig(customers=200, merchants=40)


def small_config(**changes: object) -> TrafficConfig:
    settings = {"seed": 7, "count": 3000, "days": 10, "now": NOW, "population": SMALL_WORLD}
    settings["fraud"] = FraudConfig(rate=0.05, terminal_days=14)
    return TrafficConfig(**(settings | changes))  # type: ignore[arg-type]


def run(config: TrafficConfig) -> list[Command]:
    commands: list[Command] = []
    generate(config, commands.append)
    return commands


@pytest.fixture(scope="module")
def traffic() -> tuple[list[Command], object]:
    commands: list[Command] = []
    summary = generate(small_config(), commands.append)
    return commands, summary


def moment(command: Command) -> datetime | None:
    match command:
        case RegisterCustomer(registered_at=at) | PlaceOrder(placed_at=at):
            return at
        case CapturePayment(captured_at=at) | FileChargeback(filed_at=at):
            return at
    return None


def luhn_ok(number: str) -> bool:
    """Written out independently of ingest.ecommerce.cards: double every second digit from the right."""
    digits = [int(d) for d in reversed(number)]
    doubled = [d if i % 2 == 0 else (d * 2 if d * 2 < 10 else d * 2 - 9) for i, d in enumerate(digits)]
    return sum(doubled) % 10 == 0


def test_same_seed_gives_the_same_stream_and_another_seed_does_not(traffic) -> None:
    commands, _ = traffic
    assert run(small_config()) == commands
    other = run(small_config(seed=8))
    assert [c for c in other if isinstance(c, PlaceOrder)][:50] != [c for c in commands if isinstance(c, PlaceOrder)][
        :50
    ]


def test_commands_come_in_time_order_within_the_window(traffic) -> None:
    commands, summary = traffic
    times = [t for t in map(moment, commands) if t is not None]
    assert times == sorted(times)
    placed = [c.placed_at for c in commands if isinstance(c, PlaceOrder)]
    assert len(placed) == 3000 == summary.orders
    assert NOW - timedelta(days=10) <= placed[0] and placed[-1] < NOW
    assert max(times) <= NOW


def test_every_order_follows_its_customer_and_product_and_is_paid_next(traffic) -> None:
    commands, _ = traffic
    customers: set[str] = set()
    products: set[str] = set()
    for n, command in enumerate(commands):
        if isinstance(command, RegisterCustomer):
            customers.add(command.customer_id)
        elif isinstance(command, UpsertProduct):
            products.add(command.product_id)
        elif isinstance(command, PlaceOrder):
            assert command.customer_id in customers
            assert {line.product_id for line in command.lines} <= products
            payment = commands[n + 1]
            assert isinstance(payment, CapturePayment) and payment.order_id == command.order_id
            assert payment.captured_at == command.placed_at


def test_order_lines_carry_the_price_and_category_of_their_product(traffic) -> None:
    commands, _ = traffic
    catalogue = {c.product_id: c for c in commands if isinstance(c, UpsertProduct)}
    assert len({p.category for p in catalogue.values()}) == 8
    for order in (c for c in commands if isinstance(c, PlaceOrder)):
        (line,) = order.lines
        product = catalogue[line.product_id]
        assert (line.unit_price, line.category, line.quantity) == (product.price, product.category, 1)
        assert product.merchant_id == order.merchant_id


def test_cards_pass_the_luhn_check(traffic) -> None:
    commands, _ = traffic
    cards = {c.card_number for c in commands if isinstance(c, PlaceOrder)}
    assert len(cards) > 100
    assert all(len(card) == 16 and luhn_ok(card) for card in cards)
    assert is_luhn_valid("4111111111111111") and is_luhn_valid("79927398713")
    assert not is_luhn_valid("79927398710")


def test_chargebacks_are_late_only_for_fraud_and_never_from_the_future(traffic) -> None:
    commands, summary = traffic
    placed = {c.order_id: c.placed_at for c in commands if isinstance(c, PlaceOrder)}
    chargebacks = [c for c in commands if isinstance(c, FileChargeback)]
    assert chargebacks and summary.chargebacks_pending > 0
    assert {c.order_id for c in chargebacks} <= set(summary.fraud_order_ids)
    for chargeback in chargebacks:
        assert placed[chargeback.order_id] + timedelta(days=1) <= chargeback.filed_at <= NOW
        assert chargeback.filed_at <= placed[chargeback.order_id] + timedelta(days=30)
    assert len(chargebacks) + summary.chargebacks_pending == len(summary.fraud_order_ids)


def test_friendly_chargebacks_are_the_only_ones_on_honest_orders() -> None:
    config = small_config(friendly_chargeback_rate=0.05, count=2000)
    commands: list[Command] = []
    summary = generate(config, commands.append)
    disputed = {c.order_id for c in commands if isinstance(c, FileChargeback)}
    honest_disputed = disputed - set(summary.fraud_order_ids)
    assert honest_disputed and honest_disputed <= set(summary.friendly_chargeback_order_ids)


@pytest.mark.parametrize("seed", [1, 2])
def test_fraud_rate_is_close_to_the_configured_rate(seed: int) -> None:
    config = TrafficConfig(seed=seed, count=20_000, days=30, now=NOW, fraud=FraudConfig(rate=0.03))
    summary = generate(config, lambda command: None)
    assert 0.03 * 0.75 <= summary.fraud_rate <= 0.03 * 1.25
    assert set(summary.fraud_by_pattern) == {"compromised_terminal", "compromised_card", "unusual_amount"}


def test_unusual_amounts_are_far_above_the_customers_honest_orders() -> None:
    orders = list(simulate(small_config(fraud=FraudConfig(rate=0.05, amount_share=1, terminal_share=0, card_share=0))))
    honest = defaultdict(list)
    for order in orders:
        if order.pattern is None:
            honest[order.transaction.customer_id].append(order.transaction.amount)
    unusual = [o.transaction for o in orders if o.pattern == UNUSUAL_AMOUNT and honest[o.transaction.customer_id]]
    assert len(unusual) > 50
    above = [tx for tx in unusual if tx.amount > 3 * statistics.median(honest[tx.customer_id])]
    assert len(above) >= 0.9 * len(unusual)


def test_a_compromised_terminal_turns_every_order_there_into_fraud() -> None:
    orders = list(simulate(small_config()))
    struck: dict[str, list[datetime]] = defaultdict(list)
    for order in orders:
        if order.pattern == COMPROMISED_TERMINAL:
            struck[order.transaction.terminal_id].append(order.transaction.placed_at)
    assert struck
    for terminal, times in struck.items():
        assert max(times) - min(times) <= timedelta(days=14)
        during = [
            o
            for o in orders
            if o.transaction.terminal_id == terminal and min(times) <= o.transaction.placed_at <= max(times)
        ]
        assert all(o.transaction.is_fraud for o in during)


def test_progress_reports_orders_fraud_and_chargebacks() -> None:
    lines: list[str] = []
    generate(small_config(count=2500, progress_every=1000), lambda command: None, lines.append)
    assert len(lines) >= 3
    assert lines[-1].startswith("orders 2500 (") and "fraud" in lines[-1] and "chargebacks" in lines[-1]


def test_live_traffic_is_stamped_with_the_wall_clock() -> None:
    before = datetime.now(UTC)
    commands: list[Command] = []
    summary = generate(small_config(rate=1000.0, count=20), commands.append)
    after = datetime.now(UTC)
    placed = [c.placed_at for c in commands if isinstance(c, PlaceOrder)]
    assert summary.orders == 20 and len(placed) == 20
    assert placed == sorted(placed) and before <= placed[0] and placed[-1] <= after
    assert not [c for c in commands if isinstance(c, FileChargeback)]  # labels take days to come


def test_a_config_without_orders_or_with_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="count"):
        TrafficConfig(count=None)
    with pytest.raises(ValueError, match="now"):
        TrafficConfig(now=datetime(2024, 6, 1))
