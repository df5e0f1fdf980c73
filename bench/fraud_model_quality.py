"""Fraud model quality: holdout metrics of the model trained on generated traffic, and on the same traffic written to
CSV and read back through the importer, side by side.

Both datasets come from one ``simulate`` run (``--orders`` over ``DAYS`` days ending at ``NOW``, fraud rate
``FRAUD_RATE``). "generated" takes the ``Transaction`` records as they are; "imported CSV" writes them with
``write_csv`` (chargebacks known at ``NOW``), then keeps only what ``import_csv`` sends (PlaceOrder, FileChargeback),
so the importer's parsing is exercised for real. Each becomes silver-shaped orders and chargebacks, then features,
the training set as of ``NOW`` and ``train_fraud_model`` (last ``HOLDOUT_DAYS`` days held out).

Baseline, from the same run and the same holdout rows: a trivial scorer, the ``amount_to_customer_avg_30d``
feature alone (how unusual the amount is for the customer) used as the fraud score.

    .venv/bin/python -m bench.fraud_model_quality --orders 20000 --seed 7

Needs no stack: the lake is a temporary folder. Prints a table and writes bench/results/fraud_model_quality.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import SparkSession
from sklearn.metrics import average_precision_score, roc_auc_score
from threadpoolctl import ThreadpoolController

from bench.report import RESULTS_DIR, Stopwatch, load_average
from features.fraud.offline import build_fraud_features
from features.fraud.spec import FEATURE_COLUMNS, LABEL_COLUMN, ORDER_KEY
from features.fraud.training_set import build_training_set
from ingest.ecommerce.commands import Command, FileChargeback, PlaceOrder
from ingest.ecommerce.fraud_patterns import FraudConfig
from ingest.ecommerce.generator import simulate, write_csv
from ingest.ecommerce.importer import ImportOptions, import_csv
from ingest.ecommerce.population import PopulationConfig
from ingest.ecommerce.traffic import TrafficConfig
from ingest.ecommerce.transactions import Transaction
from lakehouse.settings import Settings
from lakehouse.spark import spark_session
from models.fraud.evaluation import TOP_K, precision_at_k
from models.fraud.training import TrainedModel, train_fraud_model

BENCHMARK = "fraud_model_quality"
NOW = datetime(2025, 6, 1, tzinfo=UTC)  # end of the simulated window and training cut-off: labels known by then
DAYS = 60
FRAUD_RATE = 0.03
HOLDOUT_DAYS = 14
BASELINE_FEATURE = "amount_to_customer_avg_30d"
ORDERS_SCHEMA = "order_id string, customer_id string, terminal_id string, amount decimal(18,2), placed_at timestamp"
CHARGEBACKS_SCHEMA = "order_id string, filed_at timestamp"
OrderRow = tuple[str, str, str, object, datetime]
ChargebackRow = tuple[str, datetime]


@dataclass
class SilverRows:
    """The rows of silver orders and chargebacks (only those filed by ``NOW``: what the lake would hold)."""

    orders: list[OrderRow] = field(default_factory=list)
    chargebacks: list[ChargebackRow] = field(default_factory=list)

    def __call__(self, command: Command) -> None:
        """As an importer sink: keeps what silver is made of, ignores registrations and payments."""
        if isinstance(command, PlaceOrder):
            placed = command.placed_at
            self.orders.append((command.order_id, command.customer_id, command.terminal_id, command.amount, placed))
        elif isinstance(command, FileChargeback) and command.filed_at is not None:
            self.chargebacks.append((command.order_id, command.filed_at))


def traffic(orders: int, seed: int) -> list[Transaction]:
    config = TrafficConfig(
        seed=seed,
        count=orders,
        days=DAYS,
        now=NOW,
        fraud=FraudConfig(rate=FRAUD_RATE),
        population=PopulationConfig(customers=max(orders // 20, 50), merchants=max(orders // 100, 20)),
    )
    return [simulated.transaction for simulated in simulate(config)]


def generated_silver(transactions: list[Transaction]) -> SilverRows:
    silver = SilverRows()
    for tx in transactions:
        silver.orders.append((tx.transaction_id, tx.customer_id, tx.terminal_id, tx.amount, tx.placed_at))
        if tx.chargeback_at is not None and tx.chargeback_at <= NOW:
            silver.chargebacks.append((tx.transaction_id, tx.chargeback_at))
    return silver


def imported_silver(transactions: list[Transaction], scratch: Path) -> SilverRows:
    path = scratch / "transactions.csv"
    write_csv(transactions, path, known_at=NOW)
    silver = SilverRows()
    options = ImportOptions(known_at=NOW, rejects_path=scratch / "transactions.rejects.csv")
    summary = import_csv(path, None, silver, None, options)
    if summary.rejected:
        raise RuntimeError(f"the importer rejected {summary.rejected} generated rows, e.g. {summary.rejects[:3]}")
    return silver


def training_frame(spark: SparkSession, silver: SilverRows) -> pd.DataFrame:
    orders = spark.createDataFrame(silver.orders, ORDERS_SCHEMA)
    chargebacks = spark.createDataFrame(silver.chargebacks, CHARGEBACKS_SCHEMA)
    features = build_fraud_features(orders, chargebacks)
    return build_training_set(features, chargebacks, cutoff=NOW).toPandas()


def baseline_metrics(trained: TrainedModel) -> dict[str, float]:
    """The baseline feature alone as the score, on exactly the rows the model was judged on."""
    labels, scores = trained.holdout.labels, trained.holdout.features[BASELINE_FEATURE].to_numpy(dtype=float)
    return {
        "pr_auc": float(average_precision_score(labels, scores)),
        "roc_auc": float(roc_auc_score(labels, scores)),
        "precision_at_k": precision_at_k(labels, scores, min(TOP_K, len(labels))),
    }


def evaluate(dataset: str, training: pd.DataFrame, seconds: float) -> dict[str, object]:
    with Stopwatch() as fitting:
        trained = train_fraud_model(training, holdout_days=HOLDOUT_DAYS, params={}, table_versions={})
    return {
        "dataset": dataset,
        "orders": len(training),
        "frauds": int(training[LABEL_COLUMN].sum()),
        "holdout_rows": trained.holdout.rows,
        "holdout_frauds": trained.holdout.frauds,
        "holdout_order_ids_sha256": trained.holdout.order_ids_sha256,
        "model": trained.metrics,
        "baseline": baseline_metrics(trained),
        "seconds_training_set": round(seconds, 2),
        "seconds_training": round(fitting.seconds, 2),
    }


def same_training_rows(left: pd.DataFrame, right: pd.DataFrame) -> bool:
    """Whether both paths gave the same orders, labels and features (the importer lost or changed nothing)."""
    columns = [ORDER_KEY, LABEL_COLUMN, *FEATURE_COLUMNS]
    ordered = [frame[columns].sort_values(ORDER_KEY).reset_index(drop=True) for frame in (left, right)]
    if len(ordered[0]) != len(ordered[1]) or not ordered[0][ORDER_KEY].equals(ordered[1][ORDER_KEY]):
        return False
    features = [frame[[LABEL_COLUMN, *FEATURE_COLUMNS]].to_numpy(dtype=float) for frame in ordered]
    return bool(np.allclose(features[0], features[1], rtol=1e-9, atol=1e-9))


def print_table(rows: list[dict[str, object]]) -> None:
    header = ("dataset", "orders", "frauds", "holdout frauds", "PR-AUC", "ROC-AUC", f"precision@{TOP_K}")
    print(f"\n{header[0]:<14}" + "".join(f"{h:>16}" for h in header[1:]) + f"{'baseline PR-AUC':>17}")
    for row in rows:
        model, baseline = row["model"], row["baseline"]
        counts = "".join(f"{row[key]:>16,}" for key in ("orders", "frauds", "holdout_frauds"))
        scores = "".join(f"{model[key]:>16.3f}" for key in ("pr_auc", "roc_auc", "precision_at_k"))
        print(f"{row['dataset']:<14}{counts}{scores}{baseline['pr_auc']:>17.3f}")

    def each(part: str, key: str) -> str:
        return ", ".join(f"{row[part][key]:.3f}" for row in rows)

    print(
        f"baseline: the {BASELINE_FEATURE} feature alone as the score, same holdout rows as the model "
        f"(ROC-AUC {each('baseline', 'roc_auc')}; precision@{TOP_K} {each('baseline', 'precision_at_k')}); "
        f"holdout base rate {each('model', 'base_rate')}; frauds = chargebacks known at the cut-off"
    )


def save(parameters: dict[str, object], rows: list[dict[str, object]]) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{BENCHMARK}.json"
    payload = {
        "benchmark": BENCHMARK,
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
        "parameters": parameters,
        "baseline": f"{BASELINE_FEATURE} alone as the fraud score, on the same holdout rows as the model",
        "results": rows,
    }
    path.write_text(json.dumps(payload, indent=2))
    print(f"\nsaved {path}")
    return path


def run(orders: int, seed: int, scratch: Path) -> tuple[list[dict[str, object]], dict[str, object]]:
    transactions = traffic(orders, seed)
    holdout_start = max(tx.placed_at for tx in transactions) - timedelta(days=HOLDOUT_DAYS)
    truth = {
        "generated_frauds": sum(tx.is_fraud for tx in transactions),
        "chargebacks_known_at_cutoff": sum(1 for tx in transactions if tx.chargeback_at and tx.chargeback_at <= NOW),
        # What the holdout labels would be if every chargeback had arrived: recent fraud is not charged back yet.
        "generated_frauds_in_holdout": sum(tx.is_fraud for tx in transactions if tx.placed_at >= holdout_start),
    }
    print(f"generated {len(transactions):,} orders: {truth}", flush=True)
    # One core for Spark: the machine is shared, and a few thousand rows do not need more.
    settings = Settings(lake_root=str(scratch / "lake"), spark_master="local[1]")
    spark = spark_session(settings, app_name="bench-fraud-model-quality")
    datasets = {
        "generated": lambda: generated_silver(transactions),
        "imported CSV": lambda: imported_silver(transactions, scratch),
    }
    rows, frames = [], []
    for dataset, silver in datasets.items():
        with Stopwatch() as building:
            frames.append(training_frame(spark, silver()))
        print(f"  {dataset}: training set of {len(frames[-1]):,} rows in {building.seconds:.1f}s", flush=True)
        rows.append(evaluate(dataset, frames[-1], building.seconds))
    spark.stop()
    return rows, truth | {"same_training_rows": same_training_rows(*frames)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=20_000, help="orders to simulate over the window")
    parser.add_argument("--seed", type=int, default=7, help="seed of the traffic generator")
    args = parser.parse_args()
    parameters: dict[str, object] = {
        "orders": args.orders,
        "seed": args.seed,
        "days": DAYS,
        "fraud_rate": FRAUD_RATE,
        "now_and_cutoff": NOW.isoformat(),
        "holdout_days": HOLDOUT_DAYS,
        "top_k": TOP_K,
        "load_average_before": load_average(),
    }
    # One OpenMP thread for the model: the machine is shared, and the metrics do not depend on it.
    with tempfile.TemporaryDirectory(prefix="bench-fraud-quality-") as scratch, ThreadpoolController().limit(limits=1):
        rows, checks = run(args.orders, args.seed, Path(scratch))
    parameters |= checks | {"load_average_after": load_average()}
    print_table(rows)
    print(f"imported CSV gave the same training rows as generated: {checks['same_training_rows']}")
    save(parameters, rows)


if __name__ == "__main__":
    main()
