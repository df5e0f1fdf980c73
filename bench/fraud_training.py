"""Fraud training: seconds to build the point-in-time training set (Spark, silver Delta → training Delta → pandas, as
the ``fraud_training_set`` and ``fraud_model`` assets do) and to train the model on it, per order count.

Baseline, measured in the same run: the same training set computed by pandas in memory (groupby-rolling, from
``bench.fraud_features``). It is the alternative worth weighing: training itself is the same code on the same rows
whichever way the set was built, so the set is where a choice exists, and the pandas result also checks the Spark
one (they are compared before any figure is printed).

    .venv/bin/python -m bench.fraud_training --orders 100000,1000000

Needs no stack: the lake is a temporary folder; MLflow is not used unless ``--mlflow`` (a temporary store). A size
whose time, scaled linearly from the previous size, would not fit in ``--budget-s`` is skipped and its estimate is
saved, labelled as an extrapolation. Prints a table and writes bench/results/fraud_training.json.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
from pyspark.sql import SparkSession
from threadpoolctl import ThreadpoolController

from bench.fraud_features import CUTOFF, compare, pandas_features, synthetic_silver
from bench.report import Measurement, Report, Stopwatch, load_average
from features.fraud.offline import build_fraud_features
from features.fraud.training_set import build_training_set
from lakehouse.settings import Settings
from lakehouse.spark import spark_session
from models.fraud.training import TrainedModel, train_fraud_model

HOLDOUT_DAYS = 14
WARMUP_ORDERS = 5000


def write_silver(spark: SparkSession, lake: str, orders: pd.DataFrame, chargebacks: pd.DataFrame) -> None:
    typed = spark.createDataFrame(orders.astype({"amount": str})).selectExpr(
        "order_id", "customer_id", "terminal_id", "cast(amount as decimal(18,2)) as amount", "placed_at"
    )
    typed.write.format("delta").mode("overwrite").save(f"{lake}/silver/orders")
    spark.createDataFrame(chargebacks).write.format("delta").mode("overwrite").save(f"{lake}/silver/chargebacks")


def spark_training_set(spark: SparkSession, lake: str) -> tuple[pd.DataFrame, float, float]:
    """The training set as the assets make it; returns it with the seconds to Delta and the seconds to pandas."""
    with Stopwatch() as to_delta:
        orders = spark.read.format("delta").load(f"{lake}/silver/orders")
        chargebacks = spark.read.format("delta").load(f"{lake}/silver/chargebacks")
        training = build_training_set(build_fraud_features(orders, chargebacks), chargebacks, CUTOFF)
        training.write.format("delta").mode("overwrite").save(f"{lake}/gold/fraud_training_set")
    with Stopwatch() as to_pandas:
        frame = spark.read.format("delta").load(f"{lake}/gold/fraud_training_set").toPandas()
    return frame, to_delta.seconds, to_pandas.seconds


def train(training: pd.DataFrame, orders_count: int, report: Report) -> tuple[TrainedModel, float]:
    """As the asset trains (OpenMP on every core), then with OpenMP held to one thread, as the service predicts."""
    print(f"  {orders_count:,} orders: training on {len(training):,} rows", flush=True)
    with Stopwatch() as as_is:
        trained = train_fraud_model(training, holdout_days=HOLDOUT_DAYS, params={}, table_versions={})
    notes = f"PR-AUC {trained.metrics['pr_auc']:.3f}, {int(trained.metrics['train_rows'])} train rows"
    name = f"train_fraud_model (2 fits + holdout), {orders_count:,} orders"
    report.add(Measurement(name, len(training), as_is.seconds, "rows", notes=notes, compare_to=""))
    with ThreadpoolController().limit(limits=1, user_api="openmp"), Stopwatch() as one_thread:
        train_fraud_model(training, holdout_days=HOLDOUT_DAYS, params={}, table_versions={})
    report.add(
        Measurement(
            f"train_fraud_model, OpenMP held to 1 thread, {orders_count:,} orders",
            len(training),
            one_thread.seconds,
            "rows",
            compare_to=name,
        )
    )
    return trained, as_is.seconds + one_thread.seconds


def register(home: str, trained: TrainedModel) -> float:
    from lakehouse.mlflow_store import configure_mlflow  # MLflow is slow to import: only with --mlflow
    from models.fraud.registry import register_fraud_model

    settings = Settings(home=home)
    configure_mlflow(settings)
    with Stopwatch() as logged:
        register_fraud_model(settings, trained)
    return logged.seconds


def measure_size(spark: SparkSession, root: Path, orders_count: int, mlflow: bool, report: Report) -> float:
    """Baseline, Spark set, training (and MLflow logging) for one size; returns the seconds they took together."""
    lake = str(root / f"lake-{orders_count}")
    orders, chargebacks = synthetic_silver(orders_count)
    write_silver(spark, lake, orders, chargebacks)
    print(f"  {orders_count:,} orders: pandas baseline", flush=True)
    with Stopwatch() as pandas_time:
        expected = pandas_features(orders, chargebacks, CUTOFF)
    baseline = f"baseline: pandas training set in memory, {orders_count:,} orders"
    report.add(Measurement(baseline, orders_count, pandas_time.seconds, "orders", is_baseline=True))
    print(f"  {orders_count:,} orders: Spark training set", flush=True)
    training, to_delta_s, to_pandas_s = spark_training_set(spark, lake)
    compare(spark, lake, expected)
    split = f"{to_delta_s:.1f}s to Delta, {to_pandas_s:.1f}s toPandas"
    name = f"Spark training set, Delta → Delta → pandas, {orders_count:,} orders"
    report.add(Measurement(name, orders_count, to_delta_s + to_pandas_s, "orders", notes=split, compare_to=baseline))
    trained, train_s = train(training, orders_count, report)
    total = pandas_time.seconds + to_delta_s + to_pandas_s + train_s
    if mlflow:
        logged_s = register(str(root / f"home-{orders_count}"), trained)
        report.add(Measurement(f"MLflow log + register, {orders_count:,} orders", 1, logged_s, "models", compare_to=""))
        total += logged_s
    return total


def write_warmup(spark: SparkSession, root: Path) -> str:
    lake = str(root / "warmup")
    write_silver(spark, lake, *synthetic_silver(WARMUP_ORDERS))
    return lake


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", default="100000,1000000", help="comma-separated order counts, smallest first")
    parser.add_argument("--mlflow", action="store_true", help="also log and register each model (temporary store)")
    parser.add_argument("--budget-s", type=float, default=1500, help="skip a size whose estimate would not fit")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.orders.split(","))
    report = Report("fraud_training", {"orders": sizes, "cutoff": CUTOFF.isoformat(), "holdout_days": HOLDOUT_DAYS})
    report.parameters["load_average_before"] = load_average()
    extrapolated: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-fraud-training-") as scratch:
        spark = spark_session(Settings(lake_root=scratch), app_name="bench-fraud-training")
        print(f"warm-up on {WARMUP_ORDERS:,} orders (JVM, code generation)", flush=True)
        spark_training_set(spark, write_warmup(spark, Path(scratch)))
        spent, previous = 0.0, None
        for size in sizes:
            estimate = previous[1] * size / previous[0] if previous else 0.0
            if spent + estimate > args.budget_s:
                extrapolated[f"{size} orders"] = (
                    f"EXTRAPOLATED, not measured: ~{estimate:.0f}s (linear from {previous[0]})"
                )
                print(f"  skipping {size:,} orders: ~{estimate:.0f}s estimated, over the budget", flush=True)
                continue
            seconds = measure_size(spark, Path(scratch), size, args.mlflow, report)
            spent, previous = spent + seconds, (size, seconds)
        spark.stop()
    report.parameters |= {"load_average_after": load_average(), "skipped_sizes": extrapolated}
    report.print_table()
    report.save()


if __name__ == "__main__":
    main()
