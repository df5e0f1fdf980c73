"""`lakehouse score <model> INPUT.csv --out OUTPUT.csv`: score a file with a model's champion in this process (no
server needed), streaming it in chunks with progress on stderr; rows that cannot be scored are reported, not fatal.

Another model is one entry in ``BATCH_SCORERS``: its extra arguments and how to load it as a
``serving.csv_scoring.RowScorer``. Wired into the ``lakehouse`` command line with ``register(commands)``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lakehouse.settings import Settings
from serving.anomaly import series_scoring as anomaly
from serving.csv_scoring import MissingColumns, RowScorer, score_csv
from serving.fraud import file_scoring as fraud
from serving.sentiment import batch_scoring as sentiment


@dataclass(frozen=True)
class BatchScorer:
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    open: Callable[[Settings, argparse.Namespace], RowScorer]  # loads the model: called only when scoring


BATCH_SCORERS = {
    "sentiment": BatchScorer("label and P(positive) of a text column", sentiment.add_arguments, sentiment.open_scorer),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``score <model> ...`` to the ``lakehouse`` command line."""
    score = subparsers.add_parser("score", help="score a CSV file with a model's champion, in this process")
    models = score.add_subparsers(dest="model", required=True)
    for name, scorer in BATCH_SCORERS.items():
        parser = models.add_parser(name, help=scorer.help)
        parser.add_argument("input", type=Path, help="CSV file with a header row")
        parser.add_argument("--out", type=Path, required=True, help="CSV file to write (replaced when it exists)")
        parser.add_argument("--id-column", help="input column to copy into the output (default: the row number)")
        parser.add_argument("--chunk-rows", type=int, default=2000, help="rows per model call (default: 2000)")
        scorer.add_arguments(parser)
        parser.set_defaults(handler=cmd_score)
    # A time series is scored whole, in order (its cadence sets the detector's settings), not row by row; a
    # transaction history too (each row's features come from the rows before it).
    anomaly.register(models)
    fraud.register(models)


def cmd_score(settings: Settings, args: argparse.Namespace) -> int:
    if not args.input.is_file():
        print(f"error: no such file: {args.input}", file=sys.stderr)
        return 2
    scorer = BATCH_SCORERS[args.model].open(settings, args)
    with args.input.open(newline="", encoding="utf-8") as source:
        try:
            report = score_csv(source, args.out, scorer, id_column=args.id_column, chunk_rows=args.chunk_rows)
        except MissingColumns as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    bad = f", {len(report.bad):,} bad rows reported above and left out" if report.bad else ""
    print(f"wrote {report.scored:,} scores to {args.out} in {report.seconds:.1f}s ({report.rate:,.0f} rows/s){bad}")
    return 0
