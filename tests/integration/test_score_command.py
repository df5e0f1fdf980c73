"""`lakehouse score sentiment` end to end: the real command, in its own process, scoring a small CSV with the
champion of a throwaway MLflow store (trained on a small sample), bad rows reported by line and left out."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse.settings import PROJECT_ROOT, Settings
from models.sentiment.registry import train_and_register
from models.sentiment.scorer import load_champion
from serving.server import settings_environment

pytestmark = pytest.mark.integration

ROWS = [
    ("r1", "I love this phone, it is fantastic"),
    ("r2", ""),
    ("r3", "Terrible quality, it broke on the first day"),
    ("r4", "Multi-line review:\nworks well and charges fast"),
    ("r5", "   "),
    ("r6", "Not worth the money at all"),
]


@pytest.fixture(scope="module")
def trained(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("score-home")
    settings = Settings(**stack_settings.model_dump(exclude={"home"}) | {"home": home})
    train_and_register(settings, sample=100, progress=lambda line: None)
    return settings


def lakehouse(settings: Settings, *argv: str) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).with_name("lakehouse")), *argv]
    environment = os.environ | settings_environment(settings)
    return subprocess.run(command, cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=600)


def write_input(path: Path) -> Path:
    with path.open("w", newline="") as sink:
        writer = csv.writer(sink)
        writer.writerow(["review_id", "body"])
        writer.writerows(ROWS)
    return path


def test_a_csv_is_scored_with_the_champion_and_bad_rows_are_reported(trained, tmp_path):
    source, out = write_input(tmp_path / "reviews.csv"), tmp_path / "scores.csv"
    done = lakehouse(
        trained, "score", "sentiment", str(source), "--text-column", "body", "--id-column", "review_id",
        "--out", str(out), "--chunk-rows", "2",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # r4's text spans two lines (4 and 5), so r5 starts on line 6.
    assert "line 3: empty text in column 'body' (row skipped)" in done.stderr
    assert "line 7: empty text in column 'body' (row skipped)" in done.stderr
    assert "rows/s" in done.stderr and "wrote 4 scores" in done.stdout
    with out.open(newline="") as scored:
        rows = list(csv.DictReader(scored))
    good = [(key, text) for key, text in ROWS if text.strip()]
    labels, scores = load_champion(trained).predict([text for _, text in good])
    assert [row["review_id"] for row in rows] == [key for key, _ in good]
    assert [int(row["label"]) for row in rows] == labels.tolist()
    assert [float(row["score"]) for row in rows] == pytest.approx(scores.tolist(), abs=1e-5)


def test_without_an_id_column_rows_are_numbered_and_a_rerun_replaces_the_output(trained, tmp_path):
    source, out = write_input(tmp_path / "reviews.csv"), tmp_path / "scores.csv"
    for _ in range(2):
        done = lakehouse(trained, "score", "sentiment", str(source), "--text-column", "body", "--out", str(out))
        assert done.returncode == 0, done.stderr
    with out.open(newline="") as scored:
        assert [row["row"] for row in csv.DictReader(scored)] == ["1", "3", "4", "6"]


def test_a_missing_text_column_is_an_error_naming_the_columns(trained, tmp_path):
    source, out = write_input(tmp_path / "reviews.csv"), tmp_path / "scores.csv"
    done = lakehouse(trained, "score", "sentiment", str(source), "--out", str(out))
    assert done.returncode == 2
    assert "no column 'text'; its columns: review_id, body" in done.stderr
    assert not out.exists()
