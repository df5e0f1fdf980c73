"""How a simulated customer shops: which category, which terminal, which product, which card.

Honest orders follow the customer's habit: a preferred category, mostly a terminal near home, a product priced
close to a log-normal draw around the customer's usual amount. Fraudulent orders bend one of those on purpose.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass

from ingest.ecommerce.population import Customer, Population, Product, Terminal
from ingest.ecommerce.population_data import HIGH_TICKET_CATEGORIES

# Share of honest orders placed away from the usual terminals (travel, a new shop, a one-off).
AWAY_FROM_HOME = 0.1
# With two cards, the first is the everyday one.
MAIN_CARD = 0.8


@dataclass(frozen=True)
class OrderDraft:
    terminal: Terminal
    product: Product
    card_number: str


class Shopper:
    def __init__(self, population: Population, rng: random.Random) -> None:
        self._population = population
        self._rng = rng
        self._prices = {
            merchant: [float(product.price) for product in products]
            for merchant, products in population.catalogue.items()
        }

    def honest_order(self, customer: Customer) -> OrderDraft:
        category = self._rng.choices(customer.habit.categories, weights=customer.habit.category_weights)[0]
        if self._rng.random() < AWAY_FROM_HOME:
            terminal = self._rng.choice(self._population.terminals_by_category[category])
        else:
            terminal = self._population.terminals[self._rng.choice(customer.usual_terminals[category])]
        mu, sigma = customer.habit.lognormal_parameters()
        return OrderDraft(
            terminal, self.product_near(terminal, self._rng.lognormvariate(mu, sigma)), self.card(customer)
        )

    def stolen_card_order(self, customer: Customer, card_number: str, amount_factor: float) -> OrderDraft:
        """What a fraudster buys with a stolen card: anywhere, for several times the owner's usual amount."""
        terminal = self._rng.choice(list(self._population.terminals.values()))
        mu, sigma = customer.habit.lognormal_parameters()
        amount = self._rng.lognormvariate(mu, sigma) * amount_factor
        return OrderDraft(terminal, self.product_near(terminal, amount), card_number)

    def big_ticket_order(self, customer: Customer, card_number: str, amount_factor: float) -> OrderDraft:
        """One purchase far above the customer's habit, at a shop that sells such things."""
        category = self._rng.choice(HIGH_TICKET_CATEGORIES)
        terminal = self._rng.choice(self._population.terminals_by_category[category])
        amount = customer.habit.mean_amount * amount_factor
        return OrderDraft(terminal, self.product_near(terminal, amount), card_number)

    def card(self, customer: Customer) -> str:
        if len(customer.cards) == 1 or self._rng.random() < MAIN_CARD:
            return customer.cards[0]
        return self._rng.choice(customer.cards[1:])

    def product_near(self, terminal: Terminal, amount: float) -> Product:
        """The merchant's product priced closest to ``amount``."""
        prices = self._prices[terminal.merchant_id]
        index = bisect.bisect_left(prices, amount)
        if index == len(prices) or (index > 0 and amount - prices[index - 1] < prices[index] - amount):
            index -= 1
        return self._population.catalogue[terminal.merchant_id][index]
