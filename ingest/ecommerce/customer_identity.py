"""Who an imported id stands for: histories carry only ids, but the shop needs a registered customer and a
catalogue entry. Both are derived from the ids alone, so importing the same file twice sends identical commands."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from ingest.ecommerce.commands import RegisterCustomer, UpsertProduct
from ingest.ecommerce.population_data import FIRST_NAMES, LAST_NAMES
from ingest.ecommerce.transactions import Transaction


def imported_customer(customer_id: str, first_seen: datetime, country: str) -> RegisterCustomer:
    """A synthetic, stable identity: e-mail at a reserved example domain, a name picked from the id's hash."""
    digest = hashlib.sha256(customer_id.encode()).hexdigest()
    number = int(digest[:12], 16)
    first = FIRST_NAMES[number % len(FIRST_NAMES)]
    last = LAST_NAMES[number // len(FIRST_NAMES) % len(LAST_NAMES)]
    # The hash keeps ids that read the same once cleaned ("A 1", "a-1") apart.
    slug = re.sub(r"[^a-z0-9]+", "-", customer_id.lower()).strip("-")[:40] or "customer"
    return RegisterCustomer(
        customer_id=customer_id,
        email=f"{slug}.{digest[:8]}@import.example.com",
        full_name=f"{first} {last}",
        country=country,
        registered_at=first_seen,
    )


def imported_product(tx: Transaction) -> UpsertProduct:
    """The catalogue entry behind the first order of a product; its price is that order's amount."""
    return UpsertProduct(
        product_id=tx.product_id,
        sku=tx.product_id,
        name=f"{tx.category.replace('_', ' ')} item (imported)",
        category=tx.category,
        merchant_id=tx.merchant_id,
        price=tx.amount,
        currency=tx.currency,
    )
