"""Checking a DataFrame against Great Expectations, and the expectations every domain's silver uses.

Parsing already quarantines events that break the contract; expectations catch what parsing cannot see: duplicate
keys after MERGE, hashes that are not hashes, an order with no customer. Each domain declares its suites per silver
table (`pipelines/<domain>/expectations.py`) from these helpers. Plain functions, so a test (or a notebook) runs
them without Dagster; the asset checks call :func:`validate`.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from deltalake import DeltaTable
from pyspark.sql import DataFrame, SparkSession

from pipelines.core.inventory import arrow_dataset, row_count


class LazyModule:
    """A module imported on first attribute access. Great Expectations takes ~12 s to import; the suites are
    declared at import time but only built when a check runs, so the Dagster code location (and every CLI that
    imports a domain's declaration) should not pay for it. Domains write ``from pipelines.core.expectations
    import gxe`` and use it as the module."""

    def __init__(self, name: str) -> None:
        self._name = name

    def _module(self) -> ModuleType:
        return importlib.import_module(self._name)

    def __getattr__(self, attribute: str) -> Any:  # noqa: ANN401 - whatever the module holds
        return getattr(self._module(), attribute)


if TYPE_CHECKING:
    import great_expectations as gx
    import great_expectations.expectations as gxe
else:
    gxe = LazyModule("great_expectations.expectations")

SHA256_HEX = r"^[0-9a-f]{64}$"


def keyed(*columns: str) -> list[gxe.Expectation]:
    if len(columns) > 1:
        return [gxe.ExpectCompoundColumnsToBeUnique(column_list=list(columns))]
    return [gxe.ExpectColumnValuesToNotBeNull(column=columns[0]), gxe.ExpectColumnValuesToBeUnique(column=columns[0])]


def positive(column: str) -> gxe.Expectation:
    return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, strict_min=True)


def not_negative(column: str) -> gxe.Expectation:
    return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0)


# Up to this many rows a suite runs on pandas, over the columns it reads collected once: Great Expectations computes
# every metric of every expectation as Spark jobs, ~3 s for the ten expectations of silver orders on 3,000 rows (warm
# session) against ~0.3 s for the same suite and rows on pandas, the collect included. Above it, Spark: the driver
# would hold the table.
PANDAS_MAX_ROWS = 200_000


@dataclass(frozen=True)
class Validation:
    success: bool
    evaluated: int
    failed: list[dict[str, object]]  # one entry per failed expectation: which, on what, how many rows
    engine: str = "spark"  # what Great Expectations ran on: "pandas" (a small table) or "spark"


def _context() -> gx.data_context.AbstractDataContext:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

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


def columns_read(expectations: list[gxe.Expectation]) -> list[str] | None:
    """The columns a suite reads, in order; None when one of its expectations names none (it reads the table)."""
    columns: list[str] = []
    for expectation in expectations:
        kwargs = expectation.configuration.kwargs
        named = [kwargs["column"]] if "column" in kwargs else list(kwargs.get("column_list") or [])
        if not named:
            return None
        columns += [column for column in named if column not in columns]
    return columns


def validate(
    frame: DataFrame, name: str, expectations: list[gxe.Expectation], pandas_max_rows: int = PANDAS_MAX_ROWS
) -> Validation:
    """Run ``expectations`` on a Spark DataFrame (on pandas when it has at most ``pandas_max_rows`` rows, see
    ``PANDAS_MAX_ROWS``); what failed, with unexpected counts and a few values."""
    columns = columns_read(expectations)
    if pandas_max_rows > 0 and frame.limit(pandas_max_rows + 1).count() <= pandas_max_rows:
        return _run_suite((frame.select(*columns) if columns else frame).toPandas(), "pandas", name, expectations)
    return _run_suite(frame, "spark", name, expectations)


def validate_version(
    spark: SparkSession,
    path: str,
    version: int,
    name: str,
    expectations: list[gxe.Expectation],
    pandas_max_rows: int = PANDAS_MAX_ROWS,
) -> Validation:
    """Run ``expectations`` on the Delta table at ``path`` as of ``version``. A table of at most ``pandas_max_rows``
    rows (counted from its Parquet footers) is read by delta-rs, the suite's columns only, straight into pandas: no
    Spark job (counting, collecting and converting through Spark cost ~0.4 s a table, for each of a run's suites).
    A larger one is validated on Spark, as :func:`validate` does."""
    table = DeltaTable(path, version=version)
    if pandas_max_rows > 0 and row_count(table) <= pandas_max_rows:
        data = arrow_dataset(table).to_table(columns=columns_read(expectations)).to_pandas()
        return _run_suite(data, "pandas", name, expectations)
    return _run_suite(version_frame(spark, path, version), "spark", name, expectations)


def _run_suite(data: object, engine: str, name: str, expectations: list[gxe.Expectation]) -> Validation:
    """The suite on ``data``: a pandas frame (``engine`` "pandas") or a Spark one ("spark")."""
    import great_expectations as gx

    context = _context()
    source = context.data_sources.add_pandas(name) if engine == "pandas" else context.data_sources.add_spark(name)
    batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
    suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
    result = batch.get_batch(batch_parameters={"dataframe": data}).validate(suite)
    failed = [_failure(r) for r in result.results if not r.success]
    return Validation(success=result.success, evaluated=len(result.results), failed=failed, engine=engine)


def validate_silver(
    frame: DataFrame,
    table: str,
    expectations: Callable[[], list[gxe.Expectation]],
    pandas_max_rows: int = PANDAS_MAX_ROWS,
) -> Validation:
    return validate(frame, f"silver_{table}", expectations(), pandas_max_rows)


def suite_fingerprint(expectations: list[gxe.Expectation]) -> str:
    """A digest of what the suite checks (types, columns, bounds, severity): a validation stays valid for a table
    version only while its suite is the same."""
    configurations = [expectation.configuration.to_json_dict() for expectation in expectations]
    return hashlib.sha256(json.dumps(configurations, sort_keys=True, default=str).encode()).hexdigest()[:16]


def version_frame(spark: SparkSession, path: str, version: int) -> DataFrame:
    """The table as of ``version``: what a validation recorded against that version has seen, even while a stream
    commits newer ones."""
    return spark.read.format("delta").option("versionAsOf", version).load(path)
