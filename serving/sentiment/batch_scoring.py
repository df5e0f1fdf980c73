"""``lakehouse score sentiment``: the champion sentiment model over a CSV file's text column, in this process.

Writes ``label`` (1 positive, 0 negative) and ``score`` (P(positive)) per row; a row whose text is empty or blank
cannot be scored and is reported (``serving.csv_scoring`` does the streaming and the reporting).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from lakehouse.settings import Settings
from serving.sentiment.model_threads import limited_threads

OUTPUT_COLUMNS = ("label", "score")


class SentimentRows:
    """The ``RowScorer`` of ``serving.csv_scoring`` for a model with ``predict(texts) -> (labels, P(positive))``."""

    output_columns = OUTPUT_COLUMNS

    def __init__(self, model: object, text_column: str) -> None:
        self.model = model
        self.text_column = text_column

    def required_columns(self) -> tuple[str, ...]:
        return (self.text_column,)

    def problem(self, row: dict[str, str]) -> str | None:
        text = row.get(self.text_column)
        if text is None:
            return f"too few fields: no value for {self.text_column!r}"
        return None if text.strip() else f"empty text in column {self.text_column!r}"

    def score(self, rows: Sequence[dict[str, str]]) -> list[tuple[object, ...]]:
        with limited_threads():
            labels, scores = self.model.predict([row[self.text_column] for row in rows])
        return [(int(label), round(float(score), 6)) for label, score in zip(labels, scores, strict=True)]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text-column", default="text", help="the column holding the text (default: text)")


def open_scorer(settings: Settings, args: argparse.Namespace) -> SentimentRows:
    """Load the registry's champion (raises, naming the store, when there is none)."""
    from lakehouse.mlflow_store import configure_mlflow
    from models.sentiment.scorer import load_champion

    configure_mlflow(settings)
    model = load_champion(settings)
    print(f"scoring with {model.model_name} version {model.model_version}", flush=True)
    return SentimentRows(model, args.text_column)
