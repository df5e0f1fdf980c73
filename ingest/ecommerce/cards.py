"""Payment card numbers for synthetic and imported traffic: 16 digits that pass the Luhn check, like real ones.

Numbers start with 4 (the Visa range) so they look familiar in dashboards; none is a real card.
"""

from __future__ import annotations

import hashlib
import random


def luhn_check_digit(partial: str) -> str:
    """The digit that makes ``partial`` + digit pass the Luhn check."""
    total = 0
    # Walking right to left over the partial number, the first digit is doubled (it sits left of the check digit).
    for position, char in enumerate(reversed(partial)):
        digit = int(char)
        if position % 2 == 0:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return str((10 - total % 10) % 10)


def is_luhn_valid(number: str) -> bool:
    return number.isdigit() and len(number) > 1 and luhn_check_digit(number[:-1]) == number[-1]


def random_card_number(rng: random.Random) -> str:
    partial = "4" + "".join(str(rng.randrange(10)) for _ in range(14))
    return partial + luhn_check_digit(partial)


def card_for_customer(customer_id: str) -> str:
    """The one card an imported customer without card data pays with: the same id always gives the same number."""
    digest = int.from_bytes(hashlib.sha256(customer_id.encode()).digest()[:8], "big")
    partial = "4" + f"{digest % 10**14:014d}"
    return partial + luhn_check_digit(partial)
