"""`lakehouse train fraud --until DATE [--label-delay-days 7] [--weeks 4]`: the fraud model as of a cut-off, with a
rolling backtest logged to MLflow beside logistic regression and a random forest on the same features.

From the lake's silver orders and chargebacks (pinned versions): the point-in-time features with the label delay,
then ``models.fraud.backtest`` week by week (train, wait the delay, score the next week), logged as one MLflow run
(``backtest until ...``: per-week metrics of each model as steps, the weeks as ``backtest/weeks.csv``, a plot),
then the model trained on everything up to the cut-off with the labels known then, registered through the
champion gate, with the backtest's means and run id on its run. The model registered is of the family that won the
backtest (best mean PR-AUC over its weeks: the project's gradient boosting, the logistic regression or the random
forest); the gate then compares it with the champion on its holdout. With a label delay other than the one the online
store serves (``features.fraud.spec.LABEL_DELAY_DAYS``) the backtest runs but nothing is registered: the service
could not serve that model's features.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from pyspark.sql import DataFrame

from features.fraud.spec import LABEL_DELAY_DAYS, ORDER_KEY, TIMESTAMP_COLUMN
from lakehouse.settings import Settings
from models.fraud.backtest import (
    FILED_AT,
    MODELS,
    REASON,
    BacktestPlan,
    FoldResult,
    best_family,
    results_table,
    run_backtest,
    summary,
)
from serving.fraud.file_scoring import parse_until


def backtest_frame(features: DataFrame, chargebacks: DataFrame) -> pd.DataFrame:
    """``features`` (``build_fraud_features``) with each order's first chargeback's filing time, as pandas with aware
    UTC times."""
    from pyspark.sql import functions as F

    first = [F.min("filed_at").alias(FILED_AT)]
    if REASON in chargebacks.columns:  # the first filing's reason
        first.append(F.min_by(REASON, "filed_at").alias(REASON))
    frame = features.join(chargebacks.groupBy(ORDER_KEY).agg(*first), ORDER_KEY, "left").toPandas()
    for column in (TIMESTAMP_COLUMN, FILED_AT):
        frame[column] = pd.to_datetime(frame[column]).dt.tz_localize(UTC)  # the session's zone is UTC
    return frame


def log_backtest(settings: Settings, plan: BacktestPlan, results: list[FoldResult], versions: dict[str, int]) -> str:
    """One MLflow run with the plan, each week's metrics per model (step = week) and the weeks as a table."""
    import mlflow

    from lakehouse.mlflow_store import ensure_experiment
    from models.fraud import FRAUD_EXPERIMENT_NAME

    experiment = ensure_experiment(settings, FRAUD_EXPERIMENT_NAME)
    with mlflow.start_run(experiment_id=experiment, run_name=f"backtest until {plan.until:%Y-%m-%d}") as run:
        mlflow.set_tag("kind", "backtest")
        mlflow.log_params({f"backtest.{key}": value for key, value in asdict(plan).items()})
        mlflow.log_params({f"table_version.{name}": version for name, version in versions.items()})
        for step, result in enumerate(results, start=1):
            mlflow.log_metrics({"test_frauds": result.test_frauds, "train_frauds": result.train_frauds}, step=step)
            for name, metrics in result.metrics.items():
                mlflow.log_metrics({f"{name}_{key}": value for key, value in metrics.items()}, step=step)
        mlflow.log_metrics(summary(results))
        table = results_table(results)
        with tempfile.TemporaryDirectory() as folder:
            table.to_csv(Path(folder) / "weeks.csv", index=False)
            _plot(table, Path(folder) / "pr_auc_by_week.png")
            mlflow.log_artifacts(folder, "backtest")
    return run.info.run_id


def _plot(table: pd.DataFrame, path: Path) -> None:
    from models.fraud.evaluation import _pyplot

    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6, 4), dpi=100)
    judged = table.dropna(subset=["model"])
    for name, label in MODELS.items():
        rows = judged[judged["model"] == name]
        axes.plot(rows["week"], rows["pr_auc"], marker="o", label=label)
    axes.set(xlabel="backtest week", ylabel="PR-AUC", title="PR-AUC per test week", ylim=(0, 1.02))
    axes.legend(loc="best")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def train_fraud_as_of(
    settings: Settings, plan: BacktestPlan, *, register: bool = True, progress=print
) -> dict[str, object]:
    """The backtest and (when ``register``) the registered model, from the lake's silver tables."""
    from features.fraud.inputs import read_fraud_inputs
    from features.fraud.offline import build_fraud_features
    from features.fraud.training_set import build_training_set
    from lakehouse.mlflow_store import configure_mlflow
    from lakehouse.spark import spark_session
    from pipelines.core.tables import domain_lake

    spark = spark_session(settings, app_name="lakehouse-train-fraud")
    try:
        inputs = read_fraud_inputs(spark, domain_lake(settings, "ecommerce"))
    except Exception as error:  # AnalysisException: no such table
        raise TrainingError(
            f"no silver orders in the lake at {settings.lake_root}: run `lakehouse run` first"
        ) from error
    orders, chargebacks = inputs.orders.frame, inputs.chargebacks.frame
    progress(f"computing features (label delay {plan.label_delay_days:g} days) from silver at {inputs.versions()}")
    features = build_fraud_features(orders, chargebacks, plan.label_delay_days).cache()
    results = run_backtest(backtest_frame(features, chargebacks), plan, progress)
    configure_mlflow(settings)
    outcome: dict[str, object] = {"backtest": summary(results)}
    outcome["backtest_run_id"] = log_backtest(settings, plan, results, inputs.versions())
    if not register:
        return outcome
    from models.fraud.evaluation import InsufficientLabels
    from models.fraud.registry import train_and_register

    training = build_training_set(features, chargebacks, cutoff=plan.until).toPandas()
    family = outcome["family"] = best_family(outcome["backtest"])
    progress(
        f"training the backtest's best model, {MODELS[family]}, on {len(training):,} orders up to "
        f"{plan.until.isoformat()}, labels as known then"
    )
    try:
        registered = train_and_register(
            settings, training, inputs.versions(), label_delay_days=plan.label_delay_days, family=family
        )
    except InsufficientLabels as error:
        raise TrainingError(f"not enough chargebacks known by {plan.until.isoformat()} to train: {error}") from error
    _record_backtest_on(registered.run_id, outcome)
    outcome["registered"] = registered
    return outcome


def _record_backtest_on(run_id: str, outcome: dict[str, object]) -> None:
    from mlflow import MlflowClient

    client = MlflowClient()
    for key, value in outcome["backtest"].items():
        client.log_metric(run_id, f"backtest_{key}", value)
    client.set_tag(run_id, "backtest_run_id", str(outcome["backtest_run_id"]))


class TrainingError(RuntimeError):
    """The lake or its labels cannot give a model; the message says what to do."""


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``train fraud`` to the ``lakehouse`` command line."""
    train = commands.add_parser("train", help="train a model as of a cut-off, with a backtest")
    models = train.add_subparsers(dest="model", required=True)
    fraud = models.add_parser("fraud", help="the fraud model from the lake's silver orders and chargebacks")
    fraud.add_argument("--until", type=parse_until, default=None, help="cut-off (ISO; UTC if no zone); default now")
    fraud.add_argument("--label-delay-days", type=float, default=float(LABEL_DELAY_DAYS))
    fraud.add_argument("--weeks", type=int, default=4, help="backtest weeks (default 4)")
    fraud.add_argument("--train-days", type=int, default=28, help="training window of each backtest week")
    fraud.set_defaults(handler=cmd_train_fraud)


def cmd_train_fraud(settings: Settings, args: argparse.Namespace) -> int:
    until = args.until or datetime.now(UTC)
    try:
        plan = BacktestPlan(until, args.label_delay_days, args.weeks, args.train_days)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    served = args.label_delay_days == LABEL_DELAY_DAYS
    if not served:
        print(f"label delay {args.label_delay_days:g} is not the served {LABEL_DELAY_DAYS}: backtest only, no model")
    outcome = train_fraud_as_of(settings, plan, register=served)
    means = outcome["backtest"]
    print(
        f"backtest: {int(means['weeks_judged'])} of {plan.weeks} weeks judged (MLflow run {outcome['backtest_run_id']})"
    )
    for name, label in MODELS.items():
        if f"{name}_pr_auc_mean" in means:
            pr_auc, roc_auc = means[f"{name}_pr_auc_mean"], means[f"{name}_roc_auc_mean"]
            print(f"  {label}: mean PR-AUC {pr_auc:.3f}, ROC-AUC {roc_auc:.3f}")
    if "registered" in outcome:
        registered = outcome["registered"]
        print(
            f"registered {registered.model_name} v{registered.version} ({MODELS[outcome['family']]}, the backtest's "
            f"best): {registered.reason}"
        )
    return 0
