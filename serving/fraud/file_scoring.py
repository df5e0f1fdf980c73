"""`lakehouse score fraud TRANSACTIONS.csv --out SCORES.csv [--until DATE]`: score a whole transaction history the
way the live service would have scored each row at its own time.

The file is read with the importer's parsing (same column mapping, same validation, bad rows written to the
``.rejects.csv`` beside it and counted, good rows kept). Every row's features come from the offline feature code
(``features.fraud.offline``) over the file itself: only earlier rows, and only chargebacks filed before the row's
time, so a row scores the same whatever the file holds after it. The model is the registered champion, or, with
``--until``, one trained here on the file's rows placed up to that moment with the labels known then (nothing is
registered: this is how a user checks the model on their own data before going live). When the file has labels,
the command also reports how the scores rank them on the rows after ``--until`` (all rows for the champion).

Spark computes the features (windows per customer and terminal: one sort each), so a million rows fit on one
machine; the rows travel to Spark as a Parquet file in a scratch folder, not through the driver's Python objects.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.fraud.spec import FEATURE_COLUMNS, LABEL_DELAY_DAYS, ORDER_KEY, TIMESTAMP_COLUMN
from features.point_in_time import as_utc
from ingest.ecommerce.importer import ImportSummary, parsed_history
from ingest.ecommerce.transaction_csv import ColumnMapping
from ingest.ecommerce.transaction_rows import ImportOptions
from lakehouse.settings import Settings

TRUTH = "_is_fraud"  # the file's label, when it has one: for the report only, never a feature
DECIMAL = pa.decimal128(18, 2)
ORDERS = pa.schema(
    [
        (ORDER_KEY, pa.string()),
        ("customer_id", pa.string()),
        ("terminal_id", pa.string()),
        ("amount", DECIMAL),
        (TIMESTAMP_COLUMN, pa.timestamp("us", tz="UTC")),
        (TRUTH, pa.int8()),
    ]
)
CHARGEBACKS = pa.schema([(ORDER_KEY, pa.string()), ("filed_at", pa.timestamp("us", tz="UTC"))])
Progress = Callable[[str], None]


@dataclass
class History:
    """The file's good rows as Parquet files (orders, chargebacks), and what the importer's parsing reported."""

    orders_path: Path
    chargebacks_path: Path
    rows: int
    has_labels: bool
    summary: ImportSummary


@dataclass
class FileScores:
    scored: int
    rejected: int
    rejects_path: Path | None
    model: str  # which model scored: "fraud-detection v3" or "trained on the file up to ..."
    evaluation: dict[str, float] = field(default_factory=dict)  # on labelled rows after --until, when any
    seconds: dict[str, float] = field(default_factory=dict)


def read_history(path: Path, options: ImportOptions, scratch: Path, progress: Progress | None = None) -> History:
    """Parse ``path`` as the importer does and write its orders and chargebacks as Parquet under ``scratch``."""
    summary = ImportSummary(rejects_path=options.rejects_path or path.with_name(f"{path.stem}.rejects.csv"))
    columns: dict[str, list] = {name: [] for name in ORDERS.names}
    filings: dict[str, list] = {name: [] for name in CHARGEBACKS.names}
    with parsed_history(path, options, summary) as parsed:
        for count, (_, tx, _) in enumerate(parsed, start=1):
            for name, value in zip(
                ORDERS.names,
                (tx.transaction_id, tx.customer_id, tx.terminal_id, tx.amount, tx.placed_at, int(tx.is_fraud)),
                strict=True,
            ):
                columns[name].append(value)
            if tx.chargeback_at is not None:
                filings[ORDER_KEY].append(tx.transaction_id)
                filings["filed_at"].append(tx.chargeback_at)
            if progress and count % options.progress_every == 0:
                progress(f"read {count:,} rows ({summary.rejected:,} rejected)")
    orders_path, chargebacks_path = scratch / "orders.parquet", scratch / "chargebacks.parquet"
    pq.write_table(pa.Table.from_pydict(columns, schema=ORDERS), orders_path)
    pq.write_table(pa.Table.from_pydict(filings, schema=CHARGEBACKS), chargebacks_path)
    rows = len(columns[ORDER_KEY])
    # A file without a label column parses every row as honest: no labels to judge by.
    has_labels = bool(options.mapping.fraud) and any(columns[TRUTH])
    return History(orders_path, chargebacks_path, rows, has_labels, summary)


def _scored_frame(settings: Settings, history: History, label_delay_days: float, until: datetime | None):
    """(features of every row as pandas, the training set as of ``until`` as pandas or None)."""
    from features.fraud.offline import build_fraud_features
    from features.fraud.training_set import build_training_set
    from lakehouse.spark import spark_session

    spark = spark_session(settings, app_name="lakehouse-score-fraud")
    orders = spark.read.parquet(str(history.orders_path))
    chargebacks = spark.read.parquet(str(history.chargebacks_path))
    features = build_fraud_features(orders, chargebacks, label_delay_days).join(
        orders.select(ORDER_KEY, TRUTH), ORDER_KEY
    )
    features = features.cache()
    training = None
    if until is not None:
        training = build_training_set(features.drop(TRUTH), chargebacks, cutoff=until).toPandas()
    scored = features.select(ORDER_KEY, TIMESTAMP_COLUMN, TRUTH, *FEATURE_COLUMNS).toPandas()
    features.unpersist()
    return scored, training


def score_history(
    settings: Settings,
    path: Path,
    out: Path,
    options: ImportOptions,
    *,
    until: datetime | None = None,
    label_delay_days: float = LABEL_DELAY_DAYS,
    progress: Progress | None = None,
) -> FileScores:
    """Score every good row of ``path`` into ``out`` (``transaction_id, score, decision``, in time order)."""
    from models.fraud.evaluation import holdout_metrics
    from models.fraud.training import scores_of

    say = progress or (lambda _: None)
    seconds: dict[str, float] = {}
    # The champion first: a missing one is known before minutes of reading and features, not after.
    champion = None if until is not None else _champion(settings)
    with tempfile.TemporaryDirectory(prefix="lakehouse-score-fraud-") as scratch:
        started = time.perf_counter()
        history = read_history(path, options, Path(scratch), progress)
        seconds["read"] = time.perf_counter() - started
        say(f"read {history.rows:,} rows, {history.summary.rejected:,} rejected; computing features")
        if history.rows == 0:
            raise FileScoringError(f"{path}: no row could be read (see {history.summary.rejects_path})")
        started = time.perf_counter()
        scored, training = _scored_frame(settings, history, label_delay_days, until)
        seconds["features"] = time.perf_counter() - started
    started = time.perf_counter()
    model, thresholds, described = champion or _trained_on_file(training, until, label_delay_days, say)
    seconds["model"] = time.perf_counter() - started
    started = time.perf_counter()
    scored = scored.sort_values([TIMESTAMP_COLUMN, ORDER_KEY], kind="stable").reset_index(drop=True)
    scores = scores_of(model, scored[list(FEATURE_COLUMNS)])
    # Thresholds.decision, on the whole column at once.
    reviewed = np.where(scores >= thresholds.review, "review", "approve")
    decisions = np.where(scores >= thresholds.decline, "decline", reviewed)
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"transaction_id": scored[ORDER_KEY], "score": scores, "decision": decisions}).to_csv(
        out, index=False, float_format="%.6f"
    )
    seconds["score"] = time.perf_counter() - started
    evaluation: dict[str, float] = {}
    if history.has_labels:
        # toPandas gives naive times in the session's zone, UTC (``lakehouse.spark``).
        after = pd.Timestamp(until.astimezone(UTC).replace(tzinfo=None)) if until is not None else None
        judged = scored[TIMESTAMP_COLUMN] > after if after is not None else np.ones(len(scored), bool)
        labels = scored.loc[judged, TRUTH].to_numpy(dtype=int)
        if 0 < labels.sum() < len(labels):
            judged_scores = scores[np.asarray(judged)]
            evaluation = holdout_metrics(labels, judged_scores, thresholds)
            reviewed = judged_scores >= thresholds.review
            evaluation |= {"rows": float(len(labels)), "review_recall": float(reviewed[labels == 1].mean())}
    return FileScores(
        scored=len(scored),
        rejected=history.summary.rejected,
        rejects_path=history.summary.rejects_path,
        model=described,
        evaluation=evaluation,
        seconds=seconds,
    )


class FileScoringError(RuntimeError):
    """The file or the model cannot give scores; the message says which and what to do."""


def _champion(settings: Settings) -> tuple[object, object, str]:
    """(model, thresholds, description) of the registered champion; a clear error when there is none."""
    from lakehouse.mlflow_store import configure_mlflow
    from models.fraud.registry import current_champion

    configure_mlflow(settings)
    champion = current_champion()
    if champion is None:
        raise FileScoringError(
            "no fraud champion is registered yet: run `lakehouse run` (the main job trains one), "
            "or pass --until DATE to train a model on the file itself"
        )
    return champion.model, champion.thresholds, f"{champion.name} v{champion.version} (champion)"


def _trained_on_file(
    training: pd.DataFrame, until: datetime, delay: float, say: Progress
) -> tuple[object, object, str]:
    """(model, thresholds, description) of a model trained on the file's rows up to ``until``; nothing registered."""
    from models.fraud.evaluation import InsufficientLabels
    from models.fraud.registry import DEFAULT_HOLDOUT_DAYS
    from models.fraud.training import train_fraud_model

    say(f"training on {len(training):,} rows placed up to {until.isoformat()}")
    try:
        trained = train_fraud_model(
            training, holdout_days=DEFAULT_HOLDOUT_DAYS, params={}, table_versions={}, label_delay_days=delay
        )
    except InsufficientLabels as error:
        raise FileScoringError(f"cannot train on the file up to {until.isoformat()}: {error}") from error
    described = (
        f"trained on the file up to {until.isoformat()} ({len(training):,} rows, "
        f"{int(training['is_fraud'].sum()):,} chargebacks known; holdout PR-AUC {trained.metrics['pr_auc']:.3f})"
    )
    return trained.model, trained.thresholds, described


def parse_until(text: str) -> datetime:
    """An ISO date or time; without a zone it is UTC (as the importer reads the file's timestamps)."""
    return as_utc(datetime.fromisoformat(text))


def register(models: argparse._SubParsersAction) -> None:
    """Add ``score fraud`` to ``lakehouse score``."""
    parser = models.add_parser("fraud", help="fraud score and decision of every row of a transaction history")
    parser.add_argument("input", type=Path, help="CSV in the importer's format (see `lakehouse import ecommerce`)")
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write (replaced when it exists)")
    parser.add_argument(
        "--until",
        type=parse_until,
        help="train on the file's rows up to this time (ISO; UTC if no zone), not the champion",
    )
    parser.add_argument("--mapping", default="", help="column overrides, e.g. transaction_id=tx_id,timestamp=ts")
    parser.add_argument(
        "--chargeback-delay-days",
        type=float,
        default=7.0,
        help="for a file without a chargeback column: fraud rows are charged back this long after (default 7)",
    )
    parser.set_defaults(handler=cmd_score_fraud)


def cmd_score_fraud(settings: Settings, args: argparse.Namespace) -> int:
    if not args.input.is_file():
        print(f"error: no such file: {args.input}", file=sys.stderr)
        return 2
    try:
        mapping = ColumnMapping.parse(args.mapping) if args.mapping else ColumnMapping()
        options = ImportOptions(mapping=mapping, chargeback_delay_days=args.chargeback_delay_days)
        result = score_history(settings, args.input, args.out, options, until=args.until, progress=print)
    except (FileScoringError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"model: {result.model}")
    rejected = f"; {result.rejected:,} rows rejected (see {result.rejects_path})" if result.rejected else ""
    timing = ", ".join(f"{name} {value:.1f}s" for name, value in result.seconds.items())
    print(f"wrote {result.scored:,} scores to {args.out} ({timing}){rejected}")
    if result.evaluation:
        e = result.evaluation
        on = "rows after --until" if args.until else "every row"
        print(
            f"against the file's labels ({on}, {int(e['rows']):,} rows): PR-AUC {e['pr_auc']:.3f}, "
            f"ROC-AUC {e['roc_auc']:.3f}, precision@{int(e['k'])} {e['precision_at_k']:.3f}; fraud sent to review "
            f"or declined {e['review_recall']:.3f} at a review rate of {e['review_rate']:.3f}"
        )
    return 0
