"""`lakehouse score`'s CSV streaming on small files: ids or row numbers, chunks, bad rows reported by line."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from serving.csv_scoring import MissingColumns, score_csv
from serving.sentiment.batch_scoring import SentimentRows


class LengthModel:
    """Stands in for the sentiment model: positive when the text is longer than 5 characters; records its calls."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def predict(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        self.calls.append(list(texts))
        scores = np.array([min(len(text) / 10, 1.0) for text in texts])
        return (scores > 0.5).astype(int), scores


INPUT = 'id,text\na1,great stuff\na2,\na3,bad\na4,"two\nlines here"\na5,   \na6,lovely day\n'


def run(tmp_path: Path, text: str = INPUT, **options) -> tuple[list[dict], list[str], LengthModel]:
    model, lines = LengthModel(), []
    out = tmp_path / "scores.csv"
    report = score_csv(io.StringIO(text), out, SentimentRows(model, "text"), progress=lines.append, **options)
    with out.open(newline="") as scored:
        rows = list(csv.DictReader(scored))
    assert report.scored == len(rows)
    return rows, lines, model


def test_every_good_row_is_scored_with_its_id(tmp_path):
    rows, _, _ = run(tmp_path, id_column="id", chunk_rows=2)
    assert [(r["id"], r["label"], r["score"]) for r in rows] == [
        ("a1", "1", "1.0"),
        ("a3", "0", "0.3"),
        ("a4", "1", "1.0"),
        ("a6", "1", "1.0"),
    ]


def test_bad_rows_are_reported_with_their_line_in_the_file_and_skipped(tmp_path):
    _, lines, _ = run(tmp_path, chunk_rows=2)
    # a4's text spans lines 5 and 6, so a5 starts on line 7.
    assert [line for line in lines if line.startswith("line")] == [
        "line 3: empty text in column 'text' (row skipped)",
        "line 7: empty text in column 'text' (row skipped)",
    ]
    assert lines[-1].startswith("scored 4 rows (") and lines[-1].endswith(" rows/s), 2 bad")


def test_without_an_id_column_the_row_number_identifies_the_row(tmp_path):
    rows, _, _ = run(tmp_path)
    assert [r["row"] for r in rows] == ["1", "3", "4", "6"]


def test_the_file_is_scored_in_chunks_of_the_given_size(tmp_path):
    _, _, model = run(tmp_path, chunk_rows=2)
    assert model.calls == [["great stuff"], ["bad", "two\nlines here"], ["lovely day"]]


def test_a_missing_column_stops_before_anything_is_written(tmp_path):
    with pytest.raises(MissingColumns, match="no column 'text'; its columns: id, body"):
        run(tmp_path, text="id,body\n1,hello\n")
    with pytest.raises(MissingColumns, match="no column 'key'"):
        run(tmp_path, id_column="key")
    assert list(tmp_path.iterdir()) == []


def test_a_rerun_replaces_the_output(tmp_path):
    run(tmp_path)
    rows, _, _ = run(tmp_path)
    assert len(rows) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.csv"]


def test_the_score_command_takes_a_registered_model_and_its_options():
    from entrypoints.cli import build_parser

    args = build_parser().parse_args(
        ["score", "sentiment", "in.csv", "--out", "out.csv", "--text-column", "body", "--id-column", "id"]
    )
    assert (args.model, args.input, args.out, args.text_column, args.id_column) == (
        "sentiment",
        Path("in.csv"),
        Path("out.csv"),
        "body",
        "id",
    )
    with pytest.raises(SystemExit):
        build_parser().parse_args(["score", "unregistered", "in.csv", "--out", "o.csv"])


def test_a_missing_input_file_is_an_error_before_any_model_is_loaded(tmp_path, capsys):
    from entrypoints.cli import build_parser

    args = build_parser().parse_args(["score", "sentiment", str(tmp_path / "nope.csv"), "--out", "o.csv"])
    assert args.handler(None, args) == 2
    assert "no such file" in capsys.readouterr().err
