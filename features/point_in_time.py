"""Point-in-time helpers every model's features share: exact instants and the windows that end before them.

Feature windows are ``[t - window, t)`` in unix microseconds: exact for range windows (floats would be off by one
now and then) and free of time zones, so Spark, Python and SQL agree on what "before ``t``" means.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pyspark.sql import Column
from pyspark.sql import functions as F

MICROS_PER_HOUR = 3600 * 1_000_000
MICROS_PER_DAY = 24 * MICROS_PER_HOUR
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def unix_micros(moment: datetime) -> int:
    """Exact unix microseconds of an aware time (floats would be off by one now and then)."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment.isoformat()} has no time zone; pass an aware datetime (UTC)")
    return (moment - EPOCH) // timedelta(microseconds=1)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a time without zone is taken as UTC (as the domain apps store them)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def window_us(days: float) -> int:
    """``days`` in whole microseconds (a fractional label delay too)."""
    return round(days * MICROS_PER_DAY)


def ratio(numerator: Column, denominator: Column, when_empty: float) -> Column:
    """``numerator / denominator``, or ``when_empty`` when there is nothing to divide by (no history yet)."""
    return F.when(denominator > 0, numerator / denominator).otherwise(F.lit(when_empty))
