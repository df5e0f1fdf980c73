"""Card numbers stop at the app boundary: what the rest of the platform holds is a token, the last four digits
and the brand.

The token is a keyed HMAC-SHA256 of the number's SHA-256. Keyed: without the key (``LAKEHOUSE_CARD_TOKEN_KEY``)
a token cannot be reversed by trying the few million numbers that share an issuer prefix and last four digits, as
an unkeyed hash can. Deterministic: one card always gets one token, so features can count orders per card. Over
the SHA-256: rows stored before tokenisation kept that unkeyed fingerprint, so a migration re-keys them in place
(`ingest/ecommerce/migrations/postgres/0006_card_tokens.sql`) without ever seeing a number.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

# Issuer prefixes of the brands a shop meets most (ISO/IEC 7812 ranges as the networks publish them).
BRAND_PREFIXES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("amex", re.compile(r"^3[47]")),
    ("mastercard", re.compile(r"^(5[1-5]|2(2[2-9][1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720))")),
    ("visa", re.compile(r"^4")),
    ("discover", re.compile(r"^(6011|65|64[4-9])")),
    ("jcb", re.compile(r"^35(2[89]|[3-8]\d)")),
)
# 13 to 19 digits standing alone (not part of a longer number, a decimal fraction, or a word such as a hex digest),
# written as one run or grouped as printed on cards (4-4-4-4[-n], 4-6-5, by spaces or dashes). Other groupings are
# ids and dates ("p-42-20261203-0000004", a UUID's "3641-4530"), not cards.
_CANDIDATE = re.compile(
    r"(?<![0-9A-Za-z.-])"
    r"(\d{13,19}|\d{4}([ -])\d{4}\2\d{4}\2\d{4}(?:\2\d{1,3})?|\d{4}([ -])\d{6}\3\d{4,5})"
    r"(?![0-9A-Za-z]|-[0-9A-Za-z])"
)


@dataclass(frozen=True)
class CardRef:
    """What may be stored and published about a card."""

    token: str
    last4: str
    brand: str


def card_brand(number: str) -> str:
    return next((brand for brand, prefix in BRAND_PREFIXES if prefix.match(number)), "other")


def card_token(number: str, key: str) -> str:
    return token_of_fingerprint(hashlib.sha256(number.encode()).hexdigest(), key)


def token_of_fingerprint(fingerprint: str, key: str) -> str:
    """The token of the card whose unkeyed SHA-256 hex is ``fingerprint`` (as migration 0006 computes it in SQL)."""
    return hmac.new(key.encode(), fingerprint.encode(), hashlib.sha256).hexdigest()


def protect_card(number: str, key: str) -> CardRef:
    return CardRef(card_token(number, key), number[-4:], card_brand(number))


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


def card_numbers_in(text: str) -> list[str]:
    """Everything in ``text`` that looks like a card number: 13–19 digits (spaces or dashes allowed) standing alone,
    with a known brand's issuer prefix, that pass Luhn: what PCI scanners look for.

    What the card-data scan looks for in tables, topics and rows. A long id of digits alone with a brand's prefix may
    still match (1 in 10 passes Luhn), which is why the scan reports what it found rather than only a count.
    """
    return [digits for match in _CANDIDATE.finditer(text) if (digits := _card_digits(match))]


def mask_card_numbers(text: str) -> str:
    """``text`` with every card number ``card_numbers_in`` finds kept to its last four digits (``************1111``):
    for what is written beside the data (a bulk import's rejects file), where no token is needed."""

    def masked(match: re.Match[str]) -> str:
        digits = _card_digits(match)
        return match.group(0) if digits is None else "*" * (len(digits) - 4) + digits[-4:]

    return _CANDIDATE.sub(masked, text)


def _card_digits(match: re.Match[str]) -> str | None:
    """The digits of a candidate when they are a card number: 13–19 of them, a known brand's prefix, Luhn-valid."""
    digits = re.sub(r"[ -]", "", match.group(1))
    return digits if 13 <= len(digits) <= 19 and card_brand(digits) != "other" and is_luhn_valid(digits) else None
