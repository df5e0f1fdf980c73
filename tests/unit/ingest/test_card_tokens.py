"""Card tokens and the card-number scan: keyed, stable per card, brand and last four kept; the scan finds numbers
as people write them and leaves ids, dates, digests and decimals alone."""

from __future__ import annotations

import hashlib
import random
from decimal import Decimal

import pytest

from ingest.core.cards import (
    card_brand,
    card_numbers_in,
    card_token,
    mask_card_numbers,
    protect_card,
    token_of_fingerprint,
)
from ingest.ecommerce.cards import random_card_number
from ingest.ecommerce.commands import OrderLine, PlaceOrder
from lakehouse.settings import DEV_CARD_TOKEN_KEY, Settings

KEY = "a-test-card-token-key"
VISA = "4111111111111111"


def test_a_token_is_keyed_stable_and_keeps_only_last_four_and_brand() -> None:
    card = protect_card(VISA, KEY)
    assert (card.last4, card.brand) == ("1111", "visa")
    assert card.token == protect_card(VISA, KEY).token != protect_card(VISA, KEY + "-rotated").token
    assert card.token != hashlib.sha256(VISA.encode()).hexdigest()  # not the unkeyed hash people can reverse
    assert card.token == token_of_fingerprint(hashlib.sha256(VISA.encode()).hexdigest(), KEY)  # what 0006 re-keys
    assert VISA not in repr(card) and card_token("4000000000000002", KEY) != card.token


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4111111111111111", "visa"),
        ("5500000000000004", "mastercard"),
        ("2223000048400011", "mastercard"),
        ("371449635398431", "amex"),
        ("6011111111111117", "discover"),
        ("3530111333300000", "jcb"),
        ("9999999999999995", "other"),
    ],
)
def test_brands_by_issuer_prefix(number: str, brand: str) -> None:
    assert card_brand(number) == brand


def test_a_placed_order_leaves_the_boundary_without_its_number() -> None:
    line = OrderLine(product_id="p", category="books", quantity=1, unit_price=Decimal("9.99"))
    command = PlaceOrder(
        order_id="o", customer_id="c", merchant_id="m", terminal_id="t", card_number=VISA, lines=[line]
    )
    order = command.protected(KEY)
    assert VISA not in order.model_dump_json() and "card_number" not in order.model_dump()
    assert (order.card_token, order.card_last4, order.card_brand) == (protect_card(VISA, KEY).token, "1111", "visa")


@pytest.mark.parametrize(
    "text",
    [
        VISA,
        '{"card_number":"4111111111111111"}',
        "paid with 4111 1111 1111 1111.",
        "4111-1111-1111-1111",
        "amex 3714 496353 98431",
    ],
)
def test_the_scan_finds_numbers_as_people_write_them(text: str) -> None:
    assert len(card_numbers_in(text)) == 1


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111112",  # fails Luhn
        "t=21.4111111111111111",  # a decimal fraction
        "ab4111111111111111cd",  # inside a word (a hex digest)
        "1764791234567",  # epoch milliseconds: no brand starts with 17
        "p-42-20261203-0000004",  # an id with a date
        "49513989-3641-4530-8aee-e846b7fd760b",  # a UUID
        "4111111111111111-7",  # part of a longer dashed id
    ],
)
def test_the_scan_leaves_ids_dates_digests_and_decimals_alone(text: str) -> None:
    assert card_numbers_in(text) == []


def test_the_scan_finds_every_generated_card() -> None:
    rng = random.Random(7)
    numbers = [random_card_number(rng) for _ in range(200)]
    assert card_numbers_in(" ".join(numbers)) == numbers


def test_the_development_key_is_refused_off_loopback() -> None:
    settings = Settings()
    assert settings.card_token_key == DEV_CARD_TOKEN_KEY
    assert settings.require_card_token_key("127.0.0.1", "localhost") == DEV_CARD_TOKEN_KEY
    with pytest.raises(ValueError, match="10.1.2.3 is not loopback"):
        settings.require_card_token_key("127.0.0.1", "10.1.2.3")
    secret = Settings(card_token_key="a-real-secret-of-some-length")
    assert secret.require_card_token_key("0.0.0.0") == "a-real-secret-of-some-length"


def test_serving_off_loopback_with_the_development_key_stops_with_the_reason(monkeypatch, capsys) -> None:
    from entrypoints.cli import main

    monkeypatch.delenv("LAKEHOUSE_CARD_TOKEN_KEY", raising=False)
    monkeypatch.setenv("LAKEHOUSE_API_DEV_KEYS", "false")  # the API-key refusal would come first otherwise
    assert main(["ecommerce", "serve", "--host", "0.0.0.0", "--port", "9"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: LAKEHOUSE_CARD_TOKEN_KEY is the development key and 0.0.0.0 is not loopback")
    assert "Traceback" not in error


def test_masking_keeps_the_last_four_digits_of_each_card_and_nothing_else_changes() -> None:
    text = "paid 4111 1111 1111 1111 and 378282246310005 for order p-42-20261203-0000004 at t=21.4111111111111111"
    assert (
        mask_card_numbers(text)
        == "paid ************1111 and ***********0005 for order p-42-20261203-0000004 at t=21.4111111111111111"
    )
    assert card_numbers_in(mask_card_numbers(text)) == []
