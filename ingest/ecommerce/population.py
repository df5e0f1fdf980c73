"""The simulated world the traffic generator draws from: merchants with terminals and catalogues, and customers
with a home, cards and spending habits. Built from one ``random.Random``, so a seed always gives the same world.

Places live on a 100 x 100 grid split into six countries of four regions each; a customer mostly shops at the
terminals nearest home, as in the fraud-detection handbook's simulator.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from ingest.ecommerce.cards import random_card_number
from ingest.ecommerce.commands import Command, RegisterCustomer, UpsertProduct
from ingest.ecommerce.population_data import CATEGORY_PRICES, COUNTRIES, FIRST_NAMES, LAST_NAMES, MAIL_DOMAINS

Location = tuple[float, float]


@dataclass(frozen=True)
class PopulationConfig:
    customers: int = 1000
    merchants: int = 200
    max_terminals_per_merchant: int = 4
    products_per_merchant: int = 12
    usual_terminals_per_category: int = 3


@dataclass(frozen=True)
class SpendingHabit:
    mean_amount: float
    std_amount: float
    categories: tuple[str, ...]  # preferred ones, with their weights below
    category_weights: tuple[float, ...]
    active_hour: float  # local hour around which the customer shops
    active_spread_hours: float
    orders_per_day: float

    def lognormal_parameters(self) -> tuple[float, float]:
        """(mu, sigma) of the log-normal whose mean and standard deviation are the habit's."""
        sigma2 = math.log(1 + (self.std_amount / self.mean_amount) ** 2)
        return math.log(self.mean_amount) - sigma2 / 2, math.sqrt(sigma2)


@dataclass(frozen=True)
class Customer:
    customer_id: str
    email: str
    full_name: str
    country: str
    region: str
    location: Location
    registered_at: datetime
    habit: SpendingHabit
    cards: tuple[str, ...]
    usual_terminals: dict[str, tuple[str, ...]]  # category -> terminal ids near home


@dataclass(frozen=True)
class Terminal:
    terminal_id: str
    merchant_id: str
    category: str
    location: Location


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    category: str
    merchant_id: str
    price: Decimal


@dataclass
class Population:
    customers: list[Customer]
    terminals: dict[str, Terminal]
    catalogue: dict[str, list[Product]]  # merchant id -> products by increasing price
    terminals_by_category: dict[str, list[Terminal]]

    def commands(self) -> list[Command]:
        """The catalogue, then the customers in order of registration: what exists before the first order."""
        products = [
            UpsertProduct(
                product_id=p.product_id,
                sku=p.product_id.upper(),
                name=p.name,
                category=p.category,
                merchant_id=p.merchant_id,
                price=p.price,
            )
            for merchant_products in self.catalogue.values()
            for p in merchant_products
        ]
        customers = sorted(self.customers, key=lambda c: (c.registered_at, c.customer_id))
        registrations = [
            RegisterCustomer(
                customer_id=c.customer_id,
                email=c.email,
                full_name=c.full_name,
                country=c.country,
                registered_at=c.registered_at,
            )
            for c in customers
        ]
        return [*products, *registrations]


def country_and_region(location: Location) -> tuple[str, str]:
    column, row = min(int(location[0] // (100 / 3)), 2), min(int(location[1] // 50), 1)
    country = COUNTRIES[row * 3 + column]
    sub_column = int((location[0] % (100 / 3)) // (100 / 6))
    sub_row = int((location[1] % 50) // 25)
    return country, f"{country}-{sub_row * 2 + sub_column + 1}"


def world_id(config: PopulationConfig, seed: int) -> str:
    """The id stem of a world: the seed plus a digest of its shape, so two differently sized worlds of one seed
    never hand the same customer id to two different customers (the app would refuse the second as a conflict)."""
    digest = hashlib.sha256(repr(config).encode()).hexdigest()[:4]
    return f"{seed}w{digest}"


def build_population(config: PopulationConfig, rng: random.Random, seed: int, born_before: datetime) -> Population:
    world = world_id(config, seed)
    terminals, catalogue = _build_merchants(config, rng, world)
    by_category: dict[str, list[Terminal]] = {}
    for terminal in terminals.values():
        by_category.setdefault(terminal.category, []).append(terminal)
    customers = [_build_customer(config, rng, world, n, born_before, by_category) for n in range(config.customers)]
    return Population(customers, terminals, catalogue, by_category)


def _build_merchants(
    config: PopulationConfig, rng: random.Random, world: str
) -> tuple[dict[str, Terminal], dict[str, list[Product]]]:
    categories = list(CATEGORY_PRICES)
    terminals: dict[str, Terminal] = {}
    catalogue: dict[str, list[Product]] = {}
    for n in range(config.merchants):
        # Round-robin first, so every category has merchants even in a tiny world.
        category = categories[n % len(categories)] if n < 2 * len(categories) else rng.choice(categories)
        merchant_id = f"m{world}-{n:04d}"
        for _ in range(rng.randint(1, config.max_terminals_per_merchant)):
            terminal_id = f"t{world}-{len(terminals):05d}"
            location = (rng.uniform(0, 100), rng.uniform(0, 100))
            terminals[terminal_id] = Terminal(terminal_id, merchant_id, category, location)
        catalogue[merchant_id] = _build_catalogue(config, rng, merchant_id, category)
    return terminals, catalogue


def _build_catalogue(config: PopulationConfig, rng: random.Random, merchant_id: str, category: str) -> list[Product]:
    low, high = CATEGORY_PRICES[category]
    prices = sorted(math.exp(rng.uniform(math.log(low), math.log(high))) for _ in range(config.products_per_merchant))
    label = category.replace("_", " ")
    return [
        # Shop prices end in .99.
        Product(f"p-{merchant_id}-{k:02d}", f"{label} item {k}", category, merchant_id, Decimal(f"{int(p)}.99"))
        for k, p in enumerate(prices)
    ]


def _build_customer(
    config: PopulationConfig,
    rng: random.Random,
    world: str,
    n: int,
    born_before: datetime,
    terminals_by_category: dict[str, list[Terminal]],
) -> Customer:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    location = (rng.uniform(0, 100), rng.uniform(0, 100))
    country, region = country_and_region(location)
    habit = _draw_habit(rng)
    usual = {
        category: tuple(
            t.terminal_id
            for t in sorted(terminals_by_category[category], key=lambda t: math.dist(t.location, location))[
                : config.usual_terminals_per_category
            ]
        )
        for category in habit.categories
    }
    registered_at = born_before - timedelta(seconds=rng.randrange(86_400, 720 * 86_400))
    return Customer(
        customer_id=f"c{world}-{n:06d}",
        email=f"{first}.{last}.{n}@{rng.choice(MAIL_DOMAINS)}".lower(),
        full_name=f"{first} {last}",
        country=country,
        region=region,
        location=location,
        registered_at=registered_at,
        habit=habit,
        cards=tuple(random_card_number(rng) for _ in range(1 if rng.random() < 0.7 else 2)),
        usual_terminals=usual,
    )


def _draw_habit(rng: random.Random) -> SpendingHabit:
    mean_amount = rng.uniform(8, 120)
    categories = tuple(rng.sample(list(CATEGORY_PRICES), rng.randint(2, 4)))
    return SpendingHabit(
        mean_amount=mean_amount,
        std_amount=mean_amount / 2,
        categories=categories,
        category_weights=tuple(0.2 + rng.random() for _ in categories),
        active_hour=rng.choice((9.0, 12.5, 18.0, 20.5)) + rng.gauss(0, 1),
        active_spread_hours=rng.uniform(1.5, 4.0),
        orders_per_day=rng.uniform(0.2, 4.0),
    )
