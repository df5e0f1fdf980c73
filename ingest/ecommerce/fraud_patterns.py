"""Labelled fraud, injected at a chosen overall rate, after the simulator of the "Reproducible Machine Learning for
Credit Card Fraud Detection" handbook:

- compromised terminal: every order at the terminal is fraud for the next ``terminal_days`` days;
- compromised card: for ``card_days`` days, a fraction of a customer's orders are a fraudster's, anywhere and for
  several times the usual amount;
- unusual amount: a single order far above the customer's habit.

The rate is steered, not hoped for: each pattern owns a share of the target rate, and compromised terminals and
cards are added whenever the expected share of orders they touch falls below it.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from ingest.ecommerce.population import Customer, Population
from ingest.ecommerce.shopping import AWAY_FROM_HOME, OrderDraft, Shopper

COMPROMISED_TERMINAL = "compromised_terminal"
COMPROMISED_CARD = "compromised_card"
UNUSUAL_AMOUNT = "unusual_amount"
# Compromises are reviewed at most this often: the rate only needs steering, not per-order precision.
REVIEW_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class FraudConfig:
    rate: float = 0.01  # share of orders that are fraud
    terminal_share: float = 0.4  # how the rate splits between the three patterns
    card_share: float = 0.4
    amount_share: float = 0.2
    terminal_days: float = 14
    card_days: float = 14
    card_fraud_fraction: float = 1 / 3  # of a compromised customer's orders

    def shares(self) -> tuple[float, float, float]:
        total = self.terminal_share + self.card_share + self.amount_share
        if total <= 0 or not 0 <= self.rate <= 1:
            raise ValueError("fraud rate must be in [0, 1] and the pattern shares must not all be zero")
        return self.terminal_share / total, self.card_share / total, self.amount_share / total


def order_shares(population: Population) -> tuple[dict[str, float], dict[str, float]]:
    """Expected share of all orders placed by each customer and at each terminal, from the habits alone."""
    total = sum(c.habit.orders_per_day for c in population.customers)
    by_customer = {c.customer_id: c.habit.orders_per_day / total for c in population.customers}
    by_terminal = dict.fromkeys(population.terminals, 0.0)
    for customer in population.customers:
        habit = customer.habit
        weight_total = sum(habit.category_weights)
        for category, weight in zip(habit.categories, habit.category_weights, strict=True):
            share = by_customer[customer.customer_id] * weight / weight_total
            for terminal_id in customer.usual_terminals[category]:
                by_terminal[terminal_id] += share * (1 - AWAY_FROM_HOME) / len(customer.usual_terminals[category])
            anywhere = population.terminals_by_category[category]
            for terminal in anywhere:
                by_terminal[terminal.terminal_id] += share * AWAY_FROM_HOME / len(anywhere)
    return by_customer, by_terminal


class FraudInjector:
    def __init__(self, population: Population, shopper: Shopper, rng: random.Random, config: FraudConfig) -> None:
        self._population, self._shopper, self._rng, self._config = population, shopper, rng, config
        terminal_share, card_share, amount_share = config.shares()
        self._terminal_target = config.rate * terminal_share
        self._card_target = config.rate * card_share
        self._amount_probability = config.rate * amount_share
        self._customer_share, self._terminal_share = order_shares(population)
        self._customers = {c.customer_id: c for c in population.customers}
        self._terminals: dict[str, datetime] = {}  # compromised terminal -> until
        self._cards: dict[str, tuple[str, datetime]] = {}  # compromised customer -> (card, until)
        self._next_review: datetime | None = None
        self._seen = 0
        self._caught: Counter[str] = Counter()  # fraud orders so far, by pattern

    def inspect(self, customer: Customer, placed_at: datetime, draft: OrderDraft) -> tuple[OrderDraft, str | None]:
        """The order as it really happens, and the fraud pattern behind it (None: honest)."""
        self._review(placed_at)
        self._seen += 1
        draft, pattern = self._strike(customer, draft)
        if pattern is not None:
            self._caught[pattern] += 1
        return draft, pattern

    def _strike(self, customer: Customer, draft: OrderDraft) -> tuple[OrderDraft, str | None]:
        if draft.terminal.terminal_id in self._terminals:
            return draft, COMPROMISED_TERMINAL
        stolen = self._cards.get(customer.customer_id)
        if stolen and self._rng.random() < self._config.card_fraud_fraction:
            return self._shopper.stolen_card_order(customer, stolen[0], self._rng.uniform(3, 6)), COMPROMISED_CARD
        if self._rng.random() < self._amount_probability:
            return self._shopper.big_ticket_order(customer, draft.card_number, self._rng.uniform(5, 15)), UNUSUAL_AMOUNT
        return draft, None

    def _review(self, now: datetime) -> None:
        if self._next_review is not None and now < self._next_review:
            return
        self._next_review = now + REVIEW_EVERY
        self._terminals = {t: until for t, until in self._terminals.items() if until > now}
        self._cards = {c: stolen for c, stolen in self._cards.items() if stolen[1] > now}
        self._compromise_terminals(now)
        self._compromise_cards(now)

    def _compromise_terminals(self, now: datetime) -> None:
        exposed = sum(self._terminal_share[t] for t in self._terminals)
        until = now + timedelta(days=self._config.terminal_days)
        behind = self._caught[COMPROMISED_TERMINAL] + 1 < self._terminal_target * self._seen
        for terminal_id in self._takes(self._terminal_share, self._terminals, exposed, self._terminal_target, behind):
            self._terminals[terminal_id] = until

    def _compromise_cards(self, now: datetime) -> None:
        fraction = self._config.card_fraud_fraction
        exposure = {c: share * fraction for c, share in self._customer_share.items()}
        exposed = sum(exposure[c] for c in self._cards)
        until = now + timedelta(days=self._config.card_days)
        behind = self._caught[COMPROMISED_CARD] + 1 < self._card_target * self._seen
        for customer_id in self._takes(exposure, self._cards, exposed, self._card_target, behind):
            self._cards[customer_id] = (self._rng.choice(self._customers[customer_id].cards), until)

    def _takes(
        self, exposure: dict[str, float], taken: dict[str, object], exposed: float, target: float, behind: bool
    ) -> list[str]:
        """Random new victims while the exposed share of orders is below ``target``.

        A victim exposing more than the gap is taken only while the pattern is behind its target so far:
        always taking it would overshoot the rate, never taking it would undershoot.
        """
        if exposed >= target:
            return []
        free = [key for key, share in exposure.items() if share > 0 and key not in taken]
        chosen: list[str] = []
        for key in self._rng.sample(free, min(len(free), 64)):
            if exposed >= target:
                break
            if exposed + exposure[key] <= target or behind:
                chosen.append(key)
                exposed += exposure[key]
        return chosen
