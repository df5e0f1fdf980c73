"""Scoring a CSV file with a model in this process, for ``lakehouse score <model>``: generic over models.

The file is streamed in chunks (never loaded whole), each chunk scored in one model call, and written out with the
input's id column (or the 1-based row number) beside the model's outputs. A row the model cannot score (say, an
empty text) is reported with its line number in the input and left out: it never stops the run. The output is
written under a temporary name and renamed at the end, so a re-run replaces it and a failed run leaves none.
"""

from __future__ import annotations

import csv
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TextIO

ROW_NUMBER_COLUMN = "row"


class MissingColumns(ValueError):
    """The input lacks a column the model or the command needs: nothing can be scored."""


class RowScorer(Protocol):
    """A loaded model that scores rows of a CSV file (``dict`` of column -> text)."""

    output_columns: tuple[str, ...]

    def required_columns(self) -> tuple[str, ...]: ...

    def problem(self, row: dict[str, str]) -> str | None:
        """Why this row cannot be scored, or None."""

    def score(self, rows: Sequence[dict[str, str]]) -> list[tuple[object, ...]]:
        """One tuple of ``output_columns`` values per row, in order."""


@dataclass
class ScoringReport:
    scored: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.scored / self.seconds if self.seconds > 0 else 0.0


def _chunks(reader: csv.DictReader, size: int) -> Iterator[list[tuple[int, int, dict[str, str]]]]:
    """``(row number, line number, row)`` in lists of ``size``; the line is where the row starts in the file."""
    chunk = []
    line = reader.line_num + 1
    for number, row in enumerate(reader, start=1):
        chunk.append((number, line, row))
        line = reader.line_num + 1
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _check_columns(reader: csv.DictReader, scorer: RowScorer, id_column: str | None) -> None:
    header = reader.fieldnames or []
    wanted = [*scorer.required_columns(), *([id_column] if id_column else [])]
    missing = [name for name in wanted if name not in header]
    if missing:
        named = ", ".join(map(repr, missing))
        raise MissingColumns(f"the input has no column {named}; its columns: {', '.join(header)}")


def score_csv(
    source: TextIO,
    output: Path,
    scorer: RowScorer,
    *,
    id_column: str | None = None,
    chunk_rows: int = 2000,
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> ScoringReport:
    """Score every row of ``source`` (CSV with a header) into ``output``; see the module docstring."""
    reader = csv.DictReader(source)
    _check_columns(reader, scorer, id_column)
    report, started = ScoringReport(), time.perf_counter()
    partial = output.with_name(f".{output.name}.partial")
    try:
        with partial.open("w", newline="", encoding="utf-8") as sink:
            writer = csv.writer(sink)
            writer.writerow([id_column or ROW_NUMBER_COLUMN, *scorer.output_columns])
            for chunk in _chunks(reader, chunk_rows):
                _score_chunk(chunk, scorer, writer, id_column, report, progress)
                report.seconds = time.perf_counter() - started
                progress(f"scored {report.scored:,} rows ({report.rate:,.0f} rows/s), {len(report.bad):,} bad")
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return report


def _score_chunk(
    chunk: list[tuple[int, int, dict[str, str]]],
    scorer: RowScorer,
    writer: csv.writer,
    id_column: str | None,
    report: ScoringReport,
    progress: Callable[[str], None],
) -> None:
    good = []
    for number, line, row in chunk:
        reason = scorer.problem(row)
        if reason:
            report.bad.append((line, reason))
            progress(f"line {line}: {reason} (row skipped)")
        else:
            good.append((number, row))
    results = scorer.score([row for _, row in good]) if good else []
    for (number, row), values in zip(good, results, strict=True):
        writer.writerow([row[id_column] if id_column else number, *values])
    report.scored += len(good)
