"""Payment card numbers for synthetic and imported traffic: 16 digits that pass the Luhn check, like real ones.

Numbers start with 4 (the Visa range) so they look familiar in dashboards; none is a real card.
"""

from __future__ import annotations

import hashlib
import random

from ingest.core.cards import is_luhn_valid, luhn_check_digit

__all__ = ["card_for_customer", "is_luhn_valid", "random_card_number"]


def random_card_number(rng: random.Random) -> str:
    partial = "4" + "".join(str(rng.randrange(10)) for _ in range(14))
    return partial + luhn_check_digit(partial)


def card_for_customer(customer_id: str) -> str:
    """The one card an imported customer without card data pays with: the same id always gives the same number."""
    digest = int.from_bytes(hashlib.sha256(customer_id.encode()).digest()[:8], "big")
    partial = "4" + f"{digest % 10**14:014d}"
    return partial + luhn_check_digit(partial)
