"""`lakehouse score fraud`: a transaction history scored row by row as of each row's own time, with a model trained
on the file up to a moment or with the registered champion; bad rows rejected with their reason, the rest scored."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from fraud_synthetic import synthetic_orders

from entrypoints.cli import main
from ingest.ecommerce.fraud_patterns import FraudConfig
from ingest.ecommerce.generator import simulate, write_csv
from ingest.ecommerce.population import PopulationConfig
from ingest.ecommerce.traffic import TrafficConfig
from ingest.ecommerce.transaction_rows import ImportOptions
from lakehouse.mlflow_store import configure_mlflow
from lakehouse.settings import Settings
from models.fraud.registry import current_champion, register_fraud_model
from models.fraud.training import train_fraud_model
from serving.fraud.file_scoring import FileScoringError, score_history

pytestmark = pytest.mark.integration

NOW = datetime(2025, 6, 1, tzinfo=UTC)
UNTIL = NOW - timedelta(days=25)


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> list:
    config = TrafficConfig(
        seed=31,
        count=3000,
        days=60,
        now=NOW,
        fraud=FraudConfig(rate=0.05),
        chargeback_delay_days=7,
        population=PopulationConfig(customers=150, merchants=30),
    )
    return [order.transaction for order in simulate(config)]


def scores_of(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"transaction_id": str}).set_index("transaction_id")


def test_a_row_scores_the_same_whatever_the_file_holds_after_it(spark, tmp_path, history) -> None:
    settings = Settings(home=tmp_path, lake_root=str(tmp_path / "lake"))
    early = [tx for tx in history if tx.placed_at < NOW - timedelta(days=10)]
    short, full = tmp_path / "short.csv", tmp_path / "full.csv"
    write_csv(early, short, known_at=NOW)
    write_csv(history, full, known_at=NOW)
    header = full.read_text().splitlines()[0].split(",")
    bad = {"TRANSACTION_ID": "bad-1", "TX_DATETIME": NOW.isoformat(), "CUSTOMER_ID": "c-x", "TERMINAL_ID": "t-x"}
    bad |= {"TX_AMOUNT": "-5.00", "TX_FRAUD": "0"}
    with full.open("a", newline="") as out:  # a bad row among the good ones: rejected with its reason
        csv.writer(out).writerow([bad.get(column, "") for column in header])

    results = {}
    for name, path in (("short", short), ("full", full)):
        out = tmp_path / f"{name}.scores.csv"
        results[name] = score_history(settings, path, out, ImportOptions(), until=UNTIL)
        results[name + "_scores"] = scores_of(out)

    assert (results["short"].scored, results["short"].rejected) == (len(early), 0)
    assert (results["full"].scored, results["full"].rejected) == (len(history), 1)
    rejects = Path(results["full"].rejects_path).read_text()
    assert "bad-1" in rejects and "amount" in rejects
    # Same training rows (both files hold everything up to --until) and point-in-time features: identical scores.
    short_scores, full_scores = results["short_scores"], results["full_scores"]
    assert results["short"].model == results["full"].model
    pd.testing.assert_frame_equal(short_scores, full_scores.loc[short_scores.index])
    assert set(full_scores["decision"]) <= {"approve", "review", "decline"} and full_scores["score"].between(0, 1).all()
    # The file has labels: the scores are judged on the rows after --until, and rank fraud above chance.
    judged = results["full"].evaluation
    assert judged["rows"] == sum(tx.placed_at > UNTIL for tx in history)
    assert judged["roc_auc"] > 0.6


def test_the_champion_scores_a_file_with_its_own_thresholds(spark, tmp_path, history, capsys, monkeypatch) -> None:
    settings = Settings(home=tmp_path, lake_root=str(tmp_path / "lake"))
    path, out = tmp_path / "tx.csv", tmp_path / "scores.csv"
    write_csv(history[:500], path, known_at=NOW)
    configure_mlflow(settings)
    with pytest.raises(FileScoringError, match="no fraud champion"):  # before reading the file
        score_history(settings, path, out, ImportOptions())
    assert not out.exists()

    trained = train_fraud_model(
        synthetic_orders(1500, seed=3), holdout_days=14, params={"max_iter": 20}, table_versions={}
    )
    register_fraud_model(settings, trained)
    champion = current_champion()

    # Through the command line, as a user runs it; a missing file is a clear error.
    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path))
    assert main(["score", "fraud", str(path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"model: {champion.name} v{champion.version} (champion)" in printed and "wrote 500 scores" in printed
    scored = scores_of(out)
    assert list(scored["decision"]) == [champion.thresholds.decision(score) for score in scored["score"]]
    assert main(["score", "fraud", str(tmp_path / "nope.csv"), "--out", str(out)]) == 2
