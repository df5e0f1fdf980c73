"""Fixed vocabulary of the simulated world: categories with their shelf price ranges, countries, names."""

from __future__ import annotations

# Category -> (cheapest, dearest) shelf price in EUR; a merchant's catalogue spreads log-uniformly in between.
CATEGORY_PRICES: dict[str, tuple[float, float]] = {
    "groceries": (1.0, 120.0),
    "restaurants": (5.0, 150.0),
    "fashion": (10.0, 600.0),
    "electronics": (15.0, 3000.0),
    "home_garden": (5.0, 1500.0),
    "health_beauty": (3.0, 200.0),
    "travel": (40.0, 2500.0),
    "digital_media": (1.0, 80.0),
}

# Where a single order far above habit usually lands.
HIGH_TICKET_CATEGORIES = ("electronics", "travel", "home_garden")

# Two rows of three countries on the 100 x 100 grid, west to east.
COUNTRIES = ("IE", "GB", "NL", "FR", "DE", "PL")

FIRST_NAMES = (
    "Alice", "Bruno", "Chloe", "David", "Emma", "Felix", "Greta", "Hugo", "Ines", "Jonas", "Klara", "Louis",
    "Marta", "Nils", "Olga", "Pablo", "Quentin", "Rosa", "Samir", "Tessa", "Ulrich", "Vera", "Wout", "Yara",
)  # fmt: skip

LAST_NAMES = (
    "Adams", "Bakker", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Ivanova", "Janssen",
    "Kowalski", "Laurent", "Moreau", "Nowak", "Olsen", "Peeters", "Quinn", "Rossi", "Schmidt", "Torres",
    "Urban", "Visser", "Weber", "Young",
)  # fmt: skip

# Reserved example domains (RFC 2606): generated addresses can never reach a real person.
MAIL_DOMAINS = ("example.com", "example.net", "example.org")
