"""Fraud features + training set over synthetic silver orders: Spark (Delta in, Delta out) beside a pandas
baseline computing the same features in the same run (groupby-rolling for the entity windows, sorted searches for
terminal risk). The two results are compared before any figure is printed.

    .venv/bin/python -m bench.fraud_features --orders 100000

Needs no stack: the lake is a temporary folder. Prints a table and writes bench/results/fraud_features.json.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from pyspark.sql import SparkSession

from bench.report import Measurement, Report, Stopwatch
from features.fraud.offline import build_fraud_features
from features.fraud.spec import (
    CUSTOMER_FEATURES,
    LABEL_COLUMN,
    LABEL_DELAY_DAYS,
    PAIR_FEATURES,
    PAIR_WINDOW_DAYS,
    TERMINAL_FEATURES,
    WINDOWS_DAYS,
)
from features.fraud.training_set import build_training_set
from lakehouse.settings import load_settings
from lakehouse.spark import spark_session

START = pd.Timestamp("2025-01-01", tz="UTC")
CUTOFF = datetime(2025, 3, 15, tzinfo=UTC)


def synthetic_silver(orders: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Orders over 90 days (20 per customer, 200 per terminal on average), 2% charged back 1-60 days later."""
    rng = np.random.default_rng(seed)
    placed = START + pd.to_timedelta(rng.integers(0, 90 * 86400 * 10**6, orders), unit="us")
    frame = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(orders)],
            "customer_id": [f"c{i}" for i in rng.integers(0, max(orders // 20, 1), orders)],
            "terminal_id": [f"t{i}" for i in rng.integers(0, max(orders // 200, 1), orders)],
            "amount": rng.integers(100, 50_000, orders) / 100,
            "placed_at": placed,
        }
    )
    charged = frame.sample(frac=0.02, random_state=seed)
    delay = pd.to_timedelta(rng.integers(86400, 60 * 86400, len(charged)), unit="s")
    chargebacks = pd.DataFrame({"order_id": charged["order_id"], "filed_at": charged["placed_at"] + delay})
    return frame, chargebacks


def pandas_features(orders: pd.DataFrame, chargebacks: pd.DataFrame, cutoff: datetime) -> pd.DataFrame:
    frame = orders
    for entity, prefix in (("customer_id", "customer"), ("terminal_id", "terminal")):
        # Rolling results come out grouped by entity: sorting the same way first lets them line up by position.
        frame = frame.sort_values([entity, "placed_at"], kind="stable").reset_index(drop=True)
        for days in WINDOWS_DAYS:
            rolling = frame.groupby(entity).rolling(f"{days}D", on="placed_at", closed="left")["amount"]
            frame[f"{prefix}_orders_{days}d"] = rolling.count().to_numpy()
            if prefix == "customer":
                frame[f"{prefix}_spend_{days}d"] = rolling.sum().to_numpy()
    frame = frame.sort_values(["customer_id", "terminal_id", "placed_at"], kind="stable").reset_index(drop=True)
    at_terminal = frame.groupby(["customer_id", "terminal_id"]).rolling(
        f"{PAIR_WINDOW_DAYS}D", on="placed_at", closed="left"
    )["amount"]
    frame[PAIR_FEATURES[0]] = at_terminal.count().to_numpy()
    frame = frame.fillna(0.0)
    frame[PAIR_FEATURES[1]] = (frame[PAIR_FEATURES[0]] == 0).astype(float)
    frame["customer_avg_amount_30d"] = (frame["customer_spend_30d"] / frame["customer_orders_30d"]).fillna(0.0)
    frame = terminal_risk(frame, chargebacks, pd.Timedelta(days=LABEL_DELAY_DAYS))
    labelled = frame.merge(chargebacks[chargebacks["filed_at"] <= cutoff].assign(**{LABEL_COLUMN: 1}), "left")
    labelled[LABEL_COLUMN] = labelled[LABEL_COLUMN].fillna(0).astype(int)
    return labelled[labelled["placed_at"] <= cutoff]


def terminal_risk(frame: pd.DataFrame, chargebacks: pd.DataFrame, delay: pd.Timedelta) -> pd.DataFrame:
    """Per terminal: of the orders placed in [t - delay - window, t - delay), the share charged back before t, by
    binary search on sorted times."""
    charged = frame.merge(chargebacks, on="order_id")[["terminal_id", "placed_at", "filed_at"]]
    charged["matured"] = charged["placed_at"] + delay
    charged["known"] = charged[["matured", "filed_at"]].max(axis=1)
    risk = {f"terminal_risk_{d}d": np.zeros(len(frame)) for d in WINDOWS_DAYS}
    by_terminal = dict(tuple(charged.groupby("terminal_id")))
    for terminal, rows in frame.groupby("terminal_id").groups.items():
        if terminal not in by_terminal:
            continue
        t = frame.loc[rows, "placed_at"].to_numpy()
        placed_all = np.sort(t)
        mine = by_terminal[terminal]
        for days in WINDOWS_DAYS:
            window = pd.Timedelta(days=days)
            live = mine[mine["known"] < mine["matured"] + window]
            started = np.searchsorted(np.sort(live["known"].to_numpy()), t, side="left")
            ended = np.searchsorted(np.sort((live["matured"] + window).to_numpy()), t, side="left")
            matured = np.searchsorted(placed_all, t - delay, side="left")
            matured -= np.searchsorted(placed_all, t - delay - window, side="left")
            risk[f"terminal_risk_{days}d"][rows] = np.where(
                matured > 0, (started - ended) / np.maximum(matured, 1), 0.0
            )
    return frame.assign(**risk)


def spark_training_set(spark: SparkSession, lake: str) -> int:
    orders = spark.read.format("delta").load(f"{lake}/silver/orders")
    chargebacks = spark.read.format("delta").load(f"{lake}/silver/chargebacks")
    training = build_training_set(build_fraud_features(orders, chargebacks), chargebacks, CUTOFF)
    training.write.format("delta").mode("overwrite").save(f"{lake}/gold/fraud_training_set")
    return spark.read.format("delta").load(f"{lake}/gold/fraud_training_set").count()


def compare(spark: SparkSession, lake: str, expected: pd.DataFrame) -> None:
    columns = ["order_id", *CUSTOMER_FEATURES, *TERMINAL_FEATURES, *PAIR_FEATURES, LABEL_COLUMN]
    got = spark.read.format("delta").load(f"{lake}/gold/fraud_training_set").select(*columns).toPandas()
    merged = got.merge(expected[columns], on="order_id", suffixes=("", "_pandas"))
    assert len(merged) == len(got) == len(expected), (len(merged), len(got), len(expected))
    for name in columns[1:]:
        assert np.allclose(merged[name], merged[f"{name}_pandas"], rtol=1e-9), name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    args = parser.parse_args()
    report = Report("fraud_features", {"orders": args.orders, "cutoff": CUTOFF.isoformat()})
    orders, chargebacks = synthetic_silver(args.orders)
    with tempfile.TemporaryDirectory() as lake:
        spark = spark_session(load_settings(lake_root=lake), app_name="bench-fraud-features")
        spark_orders = spark.createDataFrame(orders.astype({"amount": str})).selectExpr(
            "order_id", "customer_id", "terminal_id", "cast(amount as decimal(18,2)) as amount", "placed_at"
        )
        spark_orders.write.format("delta").save(f"{lake}/silver/orders")
        spark.createDataFrame(chargebacks).write.format("delta").save(f"{lake}/silver/chargebacks")
        with Stopwatch() as pandas_time:
            expected = pandas_features(orders, chargebacks, CUTOFF)
        report.add(
            Measurement(
                "pandas groupby-rolling, in memory (baseline)", args.orders, pandas_time.seconds, "orders", True
            )
        )
        spark_training_set(spark, lake)  # warm-up: JVM, code generation, Delta log
        with Stopwatch() as spark_time:
            rows = spark_training_set(spark, lake)
        report.add(
            Measurement(
                "Spark features + training set, Delta to Delta",
                args.orders,
                spark_time.seconds,
                "orders",
                notes=f"{rows} training rows",
            )
        )
        compare(spark, lake, expected)
        spark.stop()
    report.print_table()
    report.save()


if __name__ == "__main__":
    main()
