"""An order's current status and chargeback flag, kept right whatever order the events arrive in.

A status change can land before its order (other partition, other flow run), and a chargeback arrives on
another topic days later; both are kept as event rows, and the order row is brought up to date from them.
"""

from __future__ import annotations

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from pipelines.core import table_log
from pipelines.core.merge import one_per_key, rows_changed


def _read(spark: SparkSession, path: str) -> DataFrame:
    return spark.read.format("delta").load(path)


def apply_status_changes(spark: SparkSession, orders_path: str, changes_path: str, touched: DataFrame) -> int:
    """Give each touched order (``order_id`` rows) its latest status, when newer than the one it shows."""
    if table_log.has_no_files(changes_path):  # no status change has ever landed: nothing to apply, no join to run
        return 0
    changes = _read(spark, changes_path).join(touched.select("order_id").distinct(), "order_id", "left_semi")
    latest = one_per_key(changes, ["order_id"], ["changed_at", "occurred_at"])
    if latest.isEmpty():
        return 0
    merge = DeltaTable.forPath(spark, orders_path).alias("t").merge(latest.alias("s"), "t.order_id = s.order_id")
    newer = "s.changed_at > t.status_changed_at"
    return rows_changed(
        merge.whenMatchedUpdate(newer, {"status": "s.status", "status_changed_at": "s.changed_at"}).execute()
    )


def apply_chargebacks(spark: SparkSession, orders_path: str, chargebacks_path: str) -> int:
    """Flag orders with a chargeback (first filing wins); a no-op, with no new table version, when none is new."""
    if not DeltaTable.isDeltaTable(spark, chargebacks_path):  # the payments flow has not run yet
        return 0
    first_filed = _read(spark, chargebacks_path).groupBy("order_id").agg(F.min("filed_at").alias("filed_at"))
    unflagged = _read(spark, orders_path).filter(~F.col("has_chargeback")).select("order_id")
    pending = first_filed.join(unflagged, "order_id", "left_semi")
    if pending.isEmpty():
        return 0
    merge = DeltaTable.forPath(spark, orders_path).alias("t").merge(pending.alias("s"), "t.order_id = s.order_id")
    flag = {"has_chargeback": "true", "chargeback_filed_at": "s.filed_at"}
    return rows_changed(merge.whenMatchedUpdate(set=flag).execute())
