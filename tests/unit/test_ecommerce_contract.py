"""The e-commerce wiring that needs no server: topics declared, request bodies, every command has a use case."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ingest.ecommerce import commands
from ingest.ecommerce.api_models import CartBody, ProductBody
from ingest.ecommerce.contract import CONTRACT, TOPICS
from ingest.ecommerce.service import USE_CASES
from stack.bootstrap.kafka_topics import declared_topics


def test_every_ecommerce_topic_is_declared_with_three_partitions_and_a_dead_letter_twin() -> None:
    declared = {spec.name: spec.partitions for spec in declared_topics(CONTRACT.topics)}
    for topic in (
        "ecommerce.customers",
        "ecommerce.products",
        "ecommerce.carts",
        "ecommerce.orders",
        "ecommerce.payments",
    ):
        assert declared[topic] == 3
        assert declared[f"{topic}.dlq"] == 3
    assert set(TOPICS) <= set(declared)


def test_every_command_has_exactly_one_use_case() -> None:
    command_types = {
        value
        for value in vars(commands).values()
        if isinstance(value, type) and issubclass(value, commands.Command) and value.__module__ == commands.__name__
    }
    # Lines are parts of commands, not commands of their own; a tokenised order is what PlaceOrder becomes inside
    # its use case (the card number replaced at the boundary), and OrderFields their common part.
    parts = {commands.Command, commands.CartLine, commands.OrderLine, commands.OrderFields, commands.TokenisedOrder}
    assert set(USE_CASES) == command_types - parts


def test_request_bodies_leave_the_path_id_out_but_keep_the_rules() -> None:
    assert "product_id" not in ProductBody.model_fields and "cart_id" not in CartBody.model_fields
    with pytest.raises(ValidationError, match="price"):
        ProductBody(sku="s", name="n", category="c", merchant_id="m", price="-1")
    with pytest.raises(ValidationError, match="cart_id"):
        ProductBody(sku="s", name="n", category="c", merchant_id="m", price="1", cart_id="x")


def test_every_status_the_app_emits_is_in_the_contract():
    # Silver's expectations reject statuses outside ORDER_STATUSES and block gold: the two must agree.
    from ingest.ecommerce import ordering
    from ingest.ecommerce.contract import ORDER_STATUSES

    assert {ordering.PAID, ordering.CHARGED_BACK} <= set(ORDER_STATUSES)
