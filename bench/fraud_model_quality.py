"""Fraud model quality on a later period, after the label delay: the project's model beside logistic regression,
a random forest and a one-feature baseline, on the same point-in-time features.

Traffic: one ``simulate`` run, ``--orders`` over ``DAYS`` days ending at ``NOW`` (fraud rate ``FRAUD_RATE``), with
every chargeback exactly ``--label-delay-days`` (D, default 7) after its order, or with ``--realistic-delays``
drawn as the generator does by default (mostly 1-3 weeks; D then only sets the gap and the features' delay).
Terminals stay compromised ``--terminal-days`` (default 28, the handbook's; the generator's default is 14): terminal
risk can only see a compromise once its first orders' labels are known, D days in, so the run also reports the
share of compromised-terminal frauds that came after that point, the bound on that pattern's recall.

Periods, as in the "Reproducible Machine Learning for Credit Card Fraud Detection" handbook:

    warm-up (WARMUP_DAYS) | training [train_start, train_end) | delay (D days) | test [test_start, +TEST_DAYS)

The models are fitted at ``test_start = train_end + D`` on the training orders, labelled with the chargebacks filed
before ``test_start`` (with a fixed delay, every training fraud is known by then: training stops D days before the
fit because later orders have no labels yet), then score the test week. Test labels are the ground truth
``is_fraud`` (every chargeback arrives eventually); how many were known at the end of the run is reported too.
Features come from ``build_fraud_features(..., label_delay_days=D)`` over all orders and the chargebacks filed by
``NOW`` (what silver holds at the end of the test week): being point-in-time, an order only sees earlier filings.

Scorers, on ``FEATURE_COLUMNS``: the project's model (``fit_classifier`` with ``DEFAULT_PARAMS``), a logistic
regression (standardised, balanced classes), a random forest (200 trees, depth 10, balanced subsamples) and the
baseline ``amount_to_customer_avg_30d`` alone as the score; and, as the same-run "befores", the project's model on the
features as they were before the label delay was part of them (risk windows ending at the order), and without the
customer-terminal pair features (first use of a terminal).
Metrics on the test week: average precision, ROC-AUC,
and, at the review budget, precision, recall and recall per fraud pattern. Review budget: on each test day, the
reviewers see the day's top ``min(TOP_K, ceil(MAX_REVIEW_RATE * orders that day))`` scores (``TOP_K`` = 100 a day,
as the handbook's daily top-k; the cap keeps a small run from reviewing a third of its orders).

The CSV round trip is checked on silver rows only (the generated orders and chargebacks written with ``write_csv``
and read back by ``import_csv`` must give the same rows): training a second time on them would double the run.

    .venv/bin/python -m bench.fraud_model_quality --orders 20000 --seed 7 [--label-delay-days 7] [--realistic-delays]

Needs no stack: the lake is a temporary folder. Prints a table and writes bench/results/fraud_model_quality.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import SparkSession
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, roc_auc_score
from threadpoolctl import ThreadpoolController

from bench.report import RESULTS_DIR, Stopwatch, load_average
from features.fraud.offline import build_fraud_features
from features.fraud.spec import (
    FEATURE_COLUMNS,
    LABEL_COLUMN,
    ORDER_KEY,
    PAIR_FEATURES,
    TIMESTAMP_COLUMN,
    WINDOWS_DAYS,
)
from ingest.ecommerce.commands import Command, FileChargeback, PlaceOrder
from ingest.ecommerce.fraud_patterns import COMPROMISED_CARD, COMPROMISED_TERMINAL, UNUSUAL_AMOUNT, FraudConfig
from ingest.ecommerce.generator import SimulatedOrder, simulate, write_csv
from ingest.ecommerce.importer import ImportOptions, import_csv
from ingest.ecommerce.population import PopulationConfig
from ingest.ecommerce.traffic import TrafficConfig
from lakehouse.settings import Settings
from lakehouse.spark import spark_session
from models.fraud.backtest import fitters as backtest_fitters
from models.fraud.evaluation import MAX_REVIEW_RATE, TOP_K, daily_review_queue, review_budget
from models.fraud.training import DEFAULT_PARAMS, fit_classifier, scores_of

BENCHMARK = "fraud_model_quality"
# The handbook's simulator keeps a terminal compromised for 28 days. With a D-day label delay, terminal risk can
# only see a compromise from its D-th day on: at 14 days (the generator's default) half of it is out of reach.
HANDBOOK_TERMINAL_DAYS = 28.0
NOW = datetime(2025, 6, 1, tzinfo=UTC)  # end of the simulated window and of the test week
DAYS = 60
WARMUP_DAYS = 14  # orders before the training period only give the features their history
TEST_DAYS = 7
FRAUD_RATE = 0.03
BASELINE_FEATURE = "amount_to_customer_avg_30d"
PATTERNS = (COMPROMISED_TERMINAL, COMPROMISED_CARD, UNUSUAL_AMOUNT)
ORDERS_SCHEMA = "order_id string, customer_id string, terminal_id string, amount decimal(18,2), placed_at timestamp"
CHARGEBACKS_SCHEMA = "order_id string, filed_at timestamp"
OrderRow = tuple[str, str, str, object, datetime]
ChargebackRow = tuple[str, datetime]
Scorer = Callable[[pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class Periods:
    train_start: datetime
    train_end: datetime
    test_start: datetime  # train_end + the label delay: when the models are fitted
    test_end: datetime

    @classmethod
    def ending_at(cls, end: datetime, delay_days: float) -> Periods:
        test_start = end - timedelta(days=TEST_DAYS)
        train_end = test_start - timedelta(days=delay_days)
        train_start = end - timedelta(days=DAYS - WARMUP_DAYS)
        if train_start >= train_end:
            raise ValueError(f"a {delay_days}-day delay leaves no training period in {DAYS} days")
        return cls(train_start, train_end, test_start, end)


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


def traffic(orders: int, seed: int, delay_days: float, realistic: bool, terminal_days: float) -> list[SimulatedOrder]:
    config = TrafficConfig(
        seed=seed,
        count=orders,
        days=DAYS,
        now=NOW,
        fraud=FraudConfig(rate=FRAUD_RATE, terminal_days=terminal_days),
        population=PopulationConfig(customers=max(orders // 20, 50), merchants=max(orders // 100, 20)),
        chargeback_delay_days=None if realistic else delay_days,
    )
    return list(simulate(config))


def generated_silver(orders: list[SimulatedOrder]) -> SilverRows:
    silver = SilverRows()
    for tx in (order.transaction for order in orders):
        silver.orders.append((tx.transaction_id, tx.customer_id, tx.terminal_id, tx.amount, tx.placed_at))
        if tx.chargeback_at is not None and tx.chargeback_at <= NOW:
            silver.chargebacks.append((tx.transaction_id, tx.chargeback_at))
    return silver


def imported_silver(orders: list[SimulatedOrder], scratch: Path) -> SilverRows:
    path = scratch / "transactions.csv"
    write_csv((order.transaction for order in orders), path, known_at=NOW)
    silver = SilverRows()
    options = ImportOptions(known_at=NOW, rejects_path=scratch / "transactions.rejects.csv")
    summary = import_csv(path, None, silver, None, options)
    if summary.rejected:
        raise RuntimeError(f"the importer rejected {summary.rejected} generated rows, e.g. {summary.rejects[:3]}")
    return silver


def same_rows(left: SilverRows, right: SilverRows) -> bool:
    """Whether both hold the same orders and chargebacks, whatever the order they came in."""
    return sorted(left.orders) == sorted(right.orders) and sorted(left.chargebacks) == sorted(right.chargebacks)


def feature_table(spark: SparkSession, silver: SilverRows, delay_days: float) -> pd.DataFrame:
    orders = spark.createDataFrame(silver.orders, ORDERS_SCHEMA)
    chargebacks = spark.createDataFrame(silver.chargebacks, CHARGEBACKS_SCHEMA)
    features = build_fraud_features(orders, chargebacks, label_delay_days=delay_days).toPandas()
    features[TIMESTAMP_COLUMN] = pd.to_datetime(features[TIMESTAMP_COLUMN], utc=True)
    features[list(FEATURE_COLUMNS)] = features[list(FEATURE_COLUMNS)].astype("float64")
    return features.sort_values([TIMESTAMP_COLUMN, ORDER_KEY], kind="stable").reset_index(drop=True)


def rows_with_truth(features: pd.DataFrame, orders: list[SimulatedOrder]) -> pd.DataFrame:
    """The feature rows with each order's ground truth: its pattern, whether it is fraud, when it was charged back."""
    truth = pd.DataFrame(
        {
            ORDER_KEY: [o.transaction.transaction_id for o in orders],
            "pattern": [o.pattern for o in orders],
            "is_fraud_truth": [int(o.transaction.is_fraud) for o in orders],
            "filed_at": pd.to_datetime([o.transaction.chargeback_at for o in orders], utc=True),
        }
    )
    return features.merge(truth, on=ORDER_KEY, how="left", validate="one_to_one")


def labelled(rows: pd.DataFrame, periods: Periods) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training rows labelled as known at the fit, test rows with the ground truth, pattern and test day)."""
    placed = rows[TIMESTAMP_COLUMN]
    train = rows[(placed >= periods.train_start) & (placed < periods.train_end)].copy()
    train[LABEL_COLUMN] = (train["filed_at"] < periods.test_start).astype(int)  # NaT compares False
    test = rows[(placed >= periods.test_start) & (placed < periods.test_end)].copy()
    test[LABEL_COLUMN] = test["is_fraud_truth"]
    test["day"] = (test[TIMESTAMP_COLUMN] - periods.test_start) // pd.Timedelta(days=1)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def fit_scorers(train: pd.DataFrame) -> tuple[dict[str, Scorer], dict[str, float]]:
    """Each scorer fitted on the same training rows and columns, with its fitting time in seconds."""
    # The backtest's comparison (models.fraud.backtest.fitters), under the names this table has always used.
    labels = {"project": "project (HGB)", "logreg": "logistic regression", "forest": "random forest"}
    fits = {labels[name]: fit for name, fit in backtest_fitters(train).items()}
    scorers: dict[str, Scorer] = {}
    seconds: dict[str, float] = {}
    for name, fit in fits.items():
        with Stopwatch() as fitting:
            model = fit()
        scorers[name] = lambda rows, model=model: scores_of(model, rows[list(FEATURE_COLUMNS)])
        seconds[name] = round(fitting.seconds, 2)
        print(f"  fitted {name} in {fitting.seconds:.1f}s", flush=True)
    scorers[f"baseline: {BASELINE_FEATURE}"] = lambda rows: rows[BASELINE_FEATURE].to_numpy(dtype=float)
    return scorers, seconds


def week_metrics(test: pd.DataFrame, scores: np.ndarray) -> dict[str, float]:
    labels = test[LABEL_COLUMN].to_numpy()
    queue = daily_review_queue(test["day"].to_numpy(), scores)
    caught = queue & (labels == 1)
    metrics = {
        "average_precision": float(average_precision_score(labels, scores)),
        "roc_auc": float(roc_auc_score(labels, scores)),
        "precision_at_budget": float(caught.sum() / queue.sum()),
        "recall_at_budget": float(caught.sum() / labels.sum()),
    }
    for pattern in PATTERNS:
        of_pattern = (test["pattern"] == pattern).to_numpy()
        metrics[f"recall_{pattern}"] = float(caught[of_pattern].sum() / of_pattern.sum()) if of_pattern.any() else 0.0
    return metrics


def print_table(results: dict[str, dict[str, float]], fit_seconds: dict[str, float]) -> None:
    columns = {
        "average_precision": "AP",
        "roc_auc": "ROC-AUC",
        "precision_at_budget": "prec@budget",
        "recall_at_budget": "recall@budget",
        **{f"recall_{p}": f"rec {p.split('_')[1]}" for p in PATTERNS},
    }
    print(f"\n{'scorer':<38}" + "".join(f"{h:>14}" for h in columns.values()) + f"{'fit s':>8}")
    for name, metrics in results.items():
        values = "".join(f"{metrics[key]:>14.3f}" for key in columns)
        print(f"{name:<38}{values}{fit_seconds.get(name, 0.0):>8.1f}")


def reachable_by_terminal_risk(features: pd.DataFrame, test: pd.DataFrame, delay_days: float) -> float:
    """Share of the test week's compromised-terminal frauds placed when terminal risk could already see the
    compromise: some order at the terminal placed in the widest risk window ``[t - D - 30d, t - D)`` was charged back
    before ``t``. The others come in the compromise's first D days, when no label of it can be known yet: no
    terminal-risk feature can catch them, which bounds that pattern's recall."""
    frauds = test[(test["pattern"] == COMPROMISED_TERMINAL) & (test[LABEL_COLUMN] == 1)]
    if frauds.empty:
        return 0.0
    delay, window = pd.Timedelta(days=delay_days), pd.Timedelta(days=max(WINDOWS_DAYS))
    charged = features.dropna(subset=["filed_at"]).groupby("terminal_id")
    reachable = 0
    for terminal, placed in zip(frauds["terminal_id"], frauds[TIMESTAMP_COLUMN], strict=True):
        if terminal not in charged.groups:
            continue
        before = charged.get_group(terminal)
        at = before[TIMESTAMP_COLUMN]
        reachable += bool(
            ((at >= placed - delay - window) & (at < placed - delay) & (before["filed_at"] < placed)).any()
        )
    return reachable / len(frauds)


def counts(train: pd.DataFrame, test: pd.DataFrame, periods: Periods) -> dict[str, object]:
    test_frauds = test[test[LABEL_COLUMN] == 1]
    per_day = test.groupby("day").size()
    return {
        "periods": {name: moment.isoformat() for name, moment in asdict(periods).items()},
        "train_orders": len(train),
        "train_frauds_true": int(train["is_fraud_truth"].sum()),
        "train_frauds_known_at_fit": int(train[LABEL_COLUMN].sum()),
        "test_orders": len(test),
        "test_frauds": len(test_frauds),
        "test_frauds_by_pattern": {p: int((test_frauds["pattern"] == p).sum()) for p in PATTERNS},
        "test_frauds_known_at_test_end": int((test_frauds["filed_at"] <= periods.test_end).sum()),
        "review_budget_per_day": [review_budget(n) for n in per_day.to_list()],
        "review_rate": sum(review_budget(n) for n in per_day.to_list()) / len(test),
    }


def describe(facts: dict[str, object]) -> None:
    print(
        f"training {facts['train_orders']:,} orders, {facts['train_frauds_known_at_fit']} frauds known at the fit "
        f"of {facts['train_frauds_true']} true; test week {facts['test_orders']:,} orders, {facts['test_frauds']} "
        f"frauds {facts['test_frauds_by_pattern']} (ground truth; {facts['test_frauds_known_at_test_end']} charged "
        f"back by the end of the test week)\nreview budget: per test day the top min({TOP_K}, "
        f"ceil({MAX_REVIEW_RATE:.0%} of the day's orders)) scores = {facts['review_budget_per_day']} "
        f"({facts['review_rate']:.1%} of test orders; fraud is {facts['test_frauds'] / facts['test_orders']:.1%})\n"
        f"compromised-terminal frauds terminal risk could see (a charged-back order at the terminal matured before "
        f"them): {facts['terminal_frauds_reachable']:.1%}, the bound of that pattern's recall from terminal risk"
    )


def save(parameters: dict[str, object], results: dict[str, dict[str, float]]) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{BENCHMARK}.json"
    payload = {
        "benchmark": BENCHMARK,
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
        "parameters": parameters,
        "baseline": f"{BASELINE_FEATURE} alone as the fraud score, on the same test rows as the models",
        "results": results,
    }
    path.write_text(json.dumps(payload, indent=2))
    print(f"\nsaved {path}")
    return path


def run(args: argparse.Namespace, scratch: Path) -> tuple[dict[str, dict[str, float]], dict[str, object]]:
    delay = args.label_delay_days
    periods = Periods.ending_at(NOW, delay)
    with Stopwatch() as simulating:
        orders = traffic(args.orders, args.seed, delay, args.realistic_delays, args.terminal_days)
        silver = generated_silver(orders)
    with Stopwatch() as importing:
        same_silver = same_rows(imported_silver(orders, scratch), silver)
    print(f"simulated {len(orders):,} orders in {simulating.seconds:.1f}s; CSV round trip same: {same_silver}")
    # One core for Spark: the machine is shared, and a few thousand rows do not need more.
    spark = spark_session(Settings(lake_root=str(scratch / "lake"), spark_master="local[1]"), app_name=BENCHMARK)
    with Stopwatch() as featuring:
        features = feature_table(spark, silver, delay)
    # The features as they were before the label delay was part of them (risk windows ending at the order).
    undelayed = feature_table(spark, silver, 0)
    spark.stop()
    print(f"features of {len(features):,} orders in {featuring.seconds:.1f}s", flush=True)
    rows = rows_with_truth(features, orders)
    train, test = labelled(rows, periods)
    scorers, fit_seconds = fit_scorers(train)
    results = {name: week_metrics(test, score(test)) for name, score in scorers.items()}
    before_train, before_test = labelled(rows_with_truth(undelayed, orders), periods)
    before = fit_classifier(before_train, DEFAULT_PARAMS)
    before_scores = scores_of(before, before_test[list(FEATURE_COLUMNS)])
    results["project, undelayed risk (before)"] = week_metrics(before_test, before_scores)
    # And without the customer-terminal pair features, kept because this comparison showed they help.
    unpaired = [name for name in FEATURE_COLUMNS if name not in PAIR_FEATURES]
    without_pair = HistGradientBoostingClassifier(**DEFAULT_PARAMS).fit(train[unpaired], train[LABEL_COLUMN])
    results["project, no pair features (before)"] = week_metrics(test, without_pair.predict_proba(test[unpaired])[:, 1])
    facts = counts(train, test, periods) | {"csv_round_trip_same_silver_rows": same_silver}
    facts["terminal_frauds_reachable"] = reachable_by_terminal_risk(rows, test, delay)
    facts["seconds"] = {
        "simulate": round(simulating.seconds, 2),
        "csv_round_trip": round(importing.seconds, 2),
        "features": round(featuring.seconds, 2),
        "fit": fit_seconds,
    }
    print_table(results, fit_seconds)
    describe(facts)
    return results, facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=20_000, help="orders to simulate over the window")
    parser.add_argument("--seed", type=int, default=7, help="seed of the traffic generator")
    parser.add_argument("--label-delay-days", type=float, default=7.0, help="chargeback delay, train-test gap")
    parser.add_argument("--realistic-delays", action="store_true", help="draw chargeback delays (mostly 1-3 weeks)")
    parser.add_argument(
        "--terminal-days",
        type=float,
        default=HANDBOOK_TERMINAL_DAYS,
        help=f"how long a terminal stays compromised (default {HANDBOOK_TERMINAL_DAYS:g}, the handbook's; the "
        f"generator's own default is {FraudConfig().terminal_days:g})",
    )
    args = parser.parse_args()
    parameters: dict[str, object] = {
        "orders": args.orders,
        "seed": args.seed,
        "days": DAYS,
        "warmup_days": WARMUP_DAYS,
        "test_days": TEST_DAYS,
        "fraud_rate": FRAUD_RATE,
        "label_delay_days": args.label_delay_days,
        "terminal_days": args.terminal_days,
        "chargeback_delays": "realistic (generator default)" if args.realistic_delays else "fixed",
        "now": NOW.isoformat(),
        "review_budget": f"per test day, the top min({TOP_K}, ceil({MAX_REVIEW_RATE} x that day's orders)) scores",
        "load_average_before": load_average(),
    }
    print(f"load average before: {parameters['load_average_before']}", flush=True)
    # One OpenMP/BLAS thread for the models: the machine is shared, and the metrics do not depend on it.
    with tempfile.TemporaryDirectory(prefix="bench-fraud-quality-") as scratch, ThreadpoolController().limit(limits=1):
        results, facts = run(args, Path(scratch))
    parameters |= facts | {"load_average_after": load_average()}
    print(f"load average after: {parameters['load_average_after']}; seconds: {facts['seconds']}")
    save(parameters, results)


if __name__ == "__main__":
    main()
