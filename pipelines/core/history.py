"""A Delta table's history and its restore to an earlier version or time, for people (``lakehouse table ...``).

Read and written with delta-rs, so no JVM starts; a restore is one
ordinary ``RESTORE`` commit of the base protocol, which Spark, Databricks and every other reader follow. Nothing is
rewritten: the versions after the target stay in the history, so a restore is itself undone by restoring again.

Tables are named as they lie under the lake root, ``<layer>/<table>`` (``silver/ecommerce_orders``), or by their
Dagster asset key, ``<domain>/<layer>/<table>`` (``ecommerce/silver/orders``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from lakehouse import lake
from lakehouse.settings import Settings


class TableError(ValueError):
    """A table name, version or time the lake cannot answer; the message says what there is instead."""


@dataclass(frozen=True)
class Commit:
    version: int
    at: datetime
    operation: str
    rows_written: int | None  # rows the commit wrote, when the writer recorded it
    detail: str  # what a person needs to tell commits apart: a restore's target, a gold build's inputs


@dataclass(frozen=True)
class Restored:
    path: str
    previous_version: int
    target_version: int
    new_version: int
    files_removed: int
    files_restored: int


# Silver reads bronze as a Delta stream, and Delta's streaming source stops at a commit that removes data.
STREAMED_LAYERS = ("bronze",)


def _parts(name: str) -> list[str]:
    parts = name.strip("/").split("/")
    if len(parts) == 3:  # domain/layer/table, as in the Dagster UI
        domain, layer, table = parts
        parts = [layer, f"{domain}_{table}"]
    return parts


def streamed_from(name: str) -> bool:
    """Whether flows read the table as a stream, so that a restore removing rows stops them."""
    return _parts(name)[0] in STREAMED_LAYERS


def table_location(settings: Settings, name: str) -> str:
    parts = _parts(name)
    if len(parts) != 2:
        raise TableError(
            f"{name!r}: name a table as <layer>/<table> (silver/ecommerce_orders) or <domain>/<layer>/<table>"
        )
    try:
        return lake.table_path(settings, *parts)
    except ValueError as error:
        raise TableError(f"{name!r}: {error}") from None


def open_delta(settings: Settings, name: str) -> DeltaTable:
    path = table_location(settings, name)
    try:
        return DeltaTable(path)
    except TableNotFoundError:
        raise TableError(f"{name!r}: no Delta table at {path} (has its pipeline run?)") from None


_ROW_METRICS = ("numOutputRows", "numTargetRowsInserted", "numAddedRows")


def _rows_written(metrics: dict[str, object]) -> int | None:
    for key in _ROW_METRICS:
        if key in metrics:
            return int(metrics[key])
    return None


def _detail(entry: dict[str, object]) -> str:
    parameters = entry.get("operationParameters") or {}
    if entry.get("operation") == "RESTORE":
        return f"to version {parameters.get('version') or parameters.get('timestamp')}"
    if entry.get("userMetadata"):
        return str(entry["userMetadata"])
    mode = parameters.get("mode")
    return f"mode {str(mode).strip(chr(34))}" if mode else ""


def table_history(table: DeltaTable, limit: int | None = None) -> list[Commit]:
    """Newest first."""
    return [
        Commit(
            version=int(entry["version"]),
            at=datetime.fromtimestamp(int(entry["timestamp"]) / 1000, UTC),
            operation=str(entry.get("operation")),
            rows_written=_rows_written(entry.get("operationMetrics") or {}),
            detail=_detail(entry),
        )
        for entry in table.history(limit)
    ]


def version_at(table: DeltaTable, moment: datetime) -> int:
    """The version a reader saw at ``moment``: the newest commit made at or before it."""
    commits = [commit for commit in table_history(table) if commit.at <= moment]
    if not commits:
        first = table_history(table)[-1]
        raise TableError(f"the table did not exist at {moment.isoformat()}: its first commit is {first.at.isoformat()}")
    return commits[0].version


def restore_table(table: DeltaTable, *, version: int | None = None, moment: datetime | None = None) -> Restored:
    """Make the table read as it did at ``version`` (or at ``moment``), as one new commit."""
    if (version is None) == (moment is None):
        raise TableError("give a version or a time to restore to, not both")
    current = table.version()
    target = version if version is not None else version_at(table, moment)
    if not 0 <= target <= current:
        raise TableError(f"version {target} does not exist: the table has versions 0 to {current}")
    if target == current:
        raise TableError(f"the table is at version {current} already: nothing to restore")
    metrics = table.restore(target)
    return Restored(
        path=table.table_uri,
        previous_version=current,
        target_version=target,
        new_version=table.version(),
        files_removed=int(metrics.get("numRemovedFile", 0)),
        files_restored=int(metrics.get("numRestoredFile", 0)),
    )
