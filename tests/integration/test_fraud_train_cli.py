"""`lakehouse train fraud --until`: from silver Delta tables, a backtest logged to MLflow week by week beside logistic
regression and a random forest, then a model as of the cut-off registered with the backtest on its run."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from mlflow import MlflowClient

from entrypoints.cli import main
from ingest.ecommerce.fraud_patterns import FraudConfig
from ingest.ecommerce.generator import simulate
from ingest.ecommerce.population import PopulationConfig
from ingest.ecommerce.traffic import TrafficConfig
from lakehouse.mlflow_store import configure_mlflow
from lakehouse.settings import Settings
from models.fraud import FRAUD_MODEL_NAME
from models.fraud.backtest import MODELS
from models.fraud.registry import current_champion
from pipelines.core.tables import domain_lake

pytestmark = pytest.mark.integration

NOW = datetime(2025, 6, 1, tzinfo=UTC)
WEEKS = 2


def write_silver(spark, settings: Settings) -> None:
    config = TrafficConfig(
        seed=23,
        count=4000,
        days=75,
        now=NOW,
        fraud=FraudConfig(rate=0.04, terminal_days=28),
        chargeback_delay_days=7,
        population=PopulationConfig(customers=200, merchants=30),
    )
    transactions = [order.transaction for order in simulate(config)]
    orders = [(t.transaction_id, t.customer_id, t.terminal_id, t.amount, t.placed_at) for t in transactions]
    filed = [
        (t.transaction_id, t.chargeback_at, t.chargeback_reason)
        for t in transactions
        if t.chargeback_at and t.chargeback_at <= NOW
    ]
    lake = domain_lake(settings, "ecommerce")
    schema = "order_id string, customer_id string, terminal_id string, amount decimal(18,2), placed_at timestamp"
    spark.createDataFrame(orders, schema).write.format("delta").save(lake.silver("orders"))
    spark.createDataFrame(filed, "order_id string, filed_at timestamp, reason string").write.format("delta").save(
        lake.silver("chargebacks")
    )


def test_train_fraud_backtests_then_registers_a_model_as_of_the_cutoff(spark, tmp_path, monkeypatch, capsys) -> None:
    settings = Settings(home=tmp_path, lake_root=str(tmp_path / "lake"))
    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path))
    monkeypatch.setenv("LAKEHOUSE_LAKE_ROOT", settings.lake_root)
    assert main(["train", "fraud", "--until", "2025-05-25"]) == 1  # no silver yet: a clear error, no traceback
    assert "run `lakehouse run` first" in capsys.readouterr().err
    write_silver(spark, settings)

    until = "2025-05-25T00:00:00+00:00"
    assert main(["train", "fraud", "--until", until, "--weeks", str(WEEKS), "--train-days", "21"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("week ") >= WEEKS and "logistic regression: mean PR-AUC" in printed

    configure_mlflow(settings)
    client = MlflowClient()
    version = client.get_model_version_by_alias(FRAUD_MODEL_NAME, "champion")
    model_run = client.get_run(version.run_id)
    backtest = client.get_run(model_run.data.tags["backtest_run_id"])
    assert backtest.data.tags["kind"] == "backtest" and backtest.data.params["backtest.weeks"] == str(WEEKS)
    judged = int(backtest.data.metrics["weeks_judged"])
    assert judged >= 2
    for model in ("project", "logreg", "forest"):
        steps = client.get_metric_history(backtest.info.run_id, f"{model}_pr_auc")
        assert len(steps) == judged and all(0 <= step.value <= 1 for step in steps)
        assert model_run.data.metrics[f"backtest_{model}_pr_auc_mean"] == pytest.approx(
            sum(step.value for step in steps) / judged
        )
    # Generated fraud names its pattern in the chargeback's reason: recall at the review budget per pattern, per week.
    terminal = client.get_metric_history(backtest.info.run_id, "project_recall_fraud_compromised_terminal")
    assert len(terminal) == judged and all(0 <= step.value <= 1 for step in terminal)
    weeks = pd.read_csv(client.download_artifacts(backtest.info.run_id, "backtest/weeks.csv", str(tmp_path)))
    assert set(weeks["model"].dropna()) == {"project", "logreg", "forest"} and weeks["week"].max() == WEEKS
    # Trained on orders up to the cut-off only, with the label delay the service serves.
    assert pd.Timestamp(model_run.data.params["holdout.end"]) <= pd.Timestamp(until)
    assert version.tags["label_delay_days"] == "7"
    # The registered model is of the family with the best mean PR-AUC in the backtest, and loads from the registry.
    means = {
        model: model_run.data.metrics[f"backtest_{model}_pr_auc_mean"] for model in ("project", "logreg", "forest")
    }
    best = max(means.values())
    assert means[version.tags["model_family"]] == best and model_run.data.params["model.family"] in means
    assert f"({MODELS[version.tags['model_family']]}, the backtest's best)" in printed
    champion = current_champion(FRAUD_MODEL_NAME)
    assert champion is not None and champion.version == str(version.version)

    # Another delay: the backtest runs, nothing is registered (the service could not serve it).
    assert main(["train", "fraud", "--until", until, "--weeks", "1", "--label-delay-days", "14"]) == 0
    assert "backtest only" in capsys.readouterr().out
    assert client.get_model_version_by_alias(FRAUD_MODEL_NAME, "champion").version == version.version
