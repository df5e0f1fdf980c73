"""What silver must look like, as Great Expectations suites, and one function that checks a DataFrame.

Parsing already quarantines events that break the contract; these catch what parsing cannot see: duplicate
keys after MERGE, hashes that are not hashes, an order with no customer. Plain functions, so a test (or a
notebook) runs them without Dagster; the asset checks call :func:`validate`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from pyspark.sql import DataFrame

from ingest.ecommerce.events import ORDER_STATUSES

SHA256_HEX = r"^[0-9a-f]{64}$"


def _keyed(*columns: str) -> list[gxe.Expectation]:
    if len(columns) > 1:
        return [gxe.ExpectCompoundColumnsToBeUnique(column_list=list(columns))]
    return [gxe.ExpectColumnValuesToNotBeNull(column=columns[0]), gxe.ExpectColumnValuesToBeUnique(column=columns[0])]


def _positive(column: str) -> gxe.Expectation:
    return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, strict_min=True)


def _not_negative(column: str) -> gxe.Expectation:
    return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0)


# silver table → its expectations (built fresh per run: GX binds an expectation to one suite).
SILVER_EXPECTATIONS: dict[str, Callable[[], list[gxe.Expectation]]] = {
    "customers": lambda: [
        *_keyed("customer_id"),
        gxe.ExpectColumnValuesToMatchRegex(column="email_hash", regex=SHA256_HEX),
    ],
    "products": lambda: [*_keyed("product_id"), _not_negative("price")],
    "carts": lambda: [*_keyed("cart_id"), gxe.ExpectColumnValuesToNotBeNull(column="customer_id")],
    "orders": lambda: [
        *_keyed("order_id"),
        *_keyed("event_id"),
        gxe.ExpectColumnValuesToNotBeNull(column="customer_id"),
        _positive("amount"),
        gxe.ExpectColumnValuesToMatchRegex(column="currency", regex=r"^[A-Z]{3}$"),
        gxe.ExpectColumnValuesToMatchRegex(column="card_hash", regex=SHA256_HEX),
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(ORDER_STATUSES)),
    ],
    "order_lines": lambda: [*_keyed("order_id", "line_number"), _positive("quantity"), _not_negative("unit_price")],
    "order_status_changes": lambda: [*_keyed("event_id"), gxe.ExpectColumnValuesToNotBeNull(column="order_id")],
    "payments": lambda: [*_keyed("payment_id"), *_keyed("event_id"), _positive("amount")],
    "chargebacks": lambda: [*_keyed("chargeback_id"), *_keyed("event_id"), _positive("amount")],
}


@dataclass(frozen=True)
class Validation:
    success: bool
    evaluated: int
    failed: list[dict[str, object]]  # one entry per failed expectation: which, on what, how many rows


def _context() -> gx.data_context.AbstractDataContext:
    # In memory, no usage statistics leaving the machine, no progress bars in the run logs.
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _failure(result: object) -> dict[str, object]:
    config, details = result.expectation_config, result.result
    return {
        "expectation": config.type,
        "on": config.kwargs.get("column") or config.kwargs.get("column_list"),
        "unexpected_count": details.get("unexpected_count"),
        "sample": [str(value) for value in (details.get("partial_unexpected_list") or [])[:5]],
    }


def validate(frame: DataFrame, name: str, expectations: list[gxe.Expectation]) -> Validation:
    """Run ``expectations`` on a Spark DataFrame; what failed, with unexpected counts and a few values."""
    context = _context()
    batch = context.data_sources.add_spark(name).add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
    suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
    result = batch.get_batch(batch_parameters={"dataframe": frame}).validate(suite)
    failed = [_failure(r) for r in result.results if not r.success]
    return Validation(success=result.success, evaluated=len(result.results), failed=failed)


def validate_silver(frame: DataFrame, table: str) -> Validation:
    return validate(frame, f"silver_{table}", SILVER_EXPECTATIONS[table]())
