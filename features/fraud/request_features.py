"""The features an order brings itself, and the model's input vector: shared by training (as the reference the
Spark columns are tested against) and by serving, so both read a timestamp the same way.

Times are read in UTC (a naive time is taken as UTC, as the e-commerce app does): the hour of day, the weekend
(Saturday, Sunday) and the night (00:00-05:59) are UTC notions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from features.fraud.spec import CUSTOMER_FEATURES, FEATURE_COLUMNS, PAIR_FEATURES, REQUEST_FEATURES, TERMINAL_FEATURES
from features.point_in_time import as_utc

NIGHT_ENDS_AT_HOUR = 6  # the night is [00:00, 06:00)
SATURDAY = 5  # datetime.weekday(): Monday is 0
# A customer with no order in the last 30 days has no habit to compare with: the amount counts as typical.
NO_HISTORY_AMOUNT_RATIO = 1.0


def amount_to_average(amount: float, customer_avg_amount_30d: float) -> float:
    if customer_avg_amount_30d <= 0:
        return NO_HISTORY_AMOUNT_RATIO
    return amount / customer_avg_amount_30d


def request_features(amount: float | Decimal, placed_at: datetime, customer_avg_amount_30d: float) -> dict[str, float]:
    """The order's own features, keyed by name (``REQUEST_FEATURES``)."""
    moment = as_utc(placed_at)
    value = float(amount)
    return {
        "amount": value,
        "amount_to_customer_avg_30d": amount_to_average(value, float(customer_avg_amount_30d)),
        "hour_of_day": float(moment.hour),
        "is_weekend": float(moment.weekday() >= SATURDAY),
        "is_night": float(moment.hour < NIGHT_ENDS_AT_HOUR),
    }


def pair_features(customer_terminal_orders: float) -> dict[str, float]:
    """The customer-terminal pair's features (``PAIR_FEATURES``) from the customer's orders at the terminal in the
    pair window: the count, and whether this is the first use of the terminal in that window."""
    count, first_use = PAIR_FEATURES
    return {count: float(customer_terminal_orders), first_use: float(customer_terminal_orders == 0)}


def _pick(values: Mapping[str, float], names: tuple[str, ...], source: str) -> dict[str, float]:
    missing = [name for name in names if name not in values]
    if missing:
        raise ValueError(f"{source} features missing: {', '.join(missing)}")
    return {name: float(values[name]) for name in names}


def assemble_vector(
    request: Mapping[str, float],
    customer_values: Mapping[str, float],
    terminal_values: Mapping[str, float],
    pair_values: Mapping[str, float],
) -> list[float]:
    """The model input, in ``FEATURE_COLUMNS`` order; a missing feature is an error naming it, never a default."""
    named = (
        _pick(request, REQUEST_FEATURES, "request")
        | _pick(customer_values, CUSTOMER_FEATURES, "customer")
        | _pick(terminal_values, TERMINAL_FEATURES, "terminal")
        | _pick(pair_values, PAIR_FEATURES, "customer-terminal pair")
    )
    return [named[name] for name in FEATURE_COLUMNS]
