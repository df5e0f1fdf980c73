"""Command models read what a client sends as the JSON types the OpenAPI names: a number is no date-time and
true/false is no number (lax pydantic would store 1970-01-01 and 0), while ISO strings and decimal strings stay."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from ingest.chat.commands import RegisterUser
from ingest.ecommerce.commands import OrderLine
from ingest.social.api_models import ReviewBody


def test_a_number_is_not_a_date_time():
    with pytest.raises(ValidationError, match="registered_at: an ISO 8601 date-time string is expected"):
        RegisterUser(user_id="u1", display_name="Ada", registered_at=0)
    user = RegisterUser.model_validate({"user_id": "u1", "display_name": "Ada", "registered_at": "2026-12-03T10:00Z"})
    assert user.registered_at == datetime(2026, 12, 3, 10, tzinfo=UTC)


def test_true_or_false_is_not_a_number_in_commands_and_bodies_nested_or_not():
    with pytest.raises(ValidationError, match="label: a number is expected, not false"):
        ReviewBody(review_id="r1", reviewer_id="m1", label=False, decision="keep")
    with pytest.raises(ValidationError, match="quantity: a number is expected, not true"):
        OrderLine(product_id="p1", category="home", quantity=True, unit_price=Decimal("1.00"))
    line = OrderLine.model_validate({"product_id": "p1", "category": "home", "quantity": 2, "unit_price": "12.50"})
    assert (line.quantity, line.unit_price) == (2, Decimal("12.50"))
