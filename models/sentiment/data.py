"""The labelled texts the sentiment model learns from, one frame with columns ``text``, ``label`` (1 positive,
0 negative) and ``source``, read from the reference data beside the repository (``settings.shared_data_dir``).

Sources: GoEmotions (Reddit comments, close to chat and social posts) and the three UCI review sets (Amazon, IMDb,
Yelp). The UCI files are old-Mac text: ``\\r`` line endings, Mac Roman bytes (a few accents, already garbled
upstream) and unbalanced quotes, so they are read line by line with universal newlines and split on the last tab:
a CSV reader would silently merge or drop IMDb rows.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
from pathlib import Path

import pandas as pd

GOEMOTIONS = "goemotions"
UCI_SOURCES = ("amazon", "imdb", "yelp")
SOURCES = (GOEMOTIONS, *UCI_SOURCES)
COLUMNS = ["text", "label", "source"]
_UCI_FILES = {"amazon": "amazon_cells_labelled.txt", "imdb": "imdb_labelled.txt", "yelp": "yelp_labelled.txt"}


class BadLabelledText(ValueError):
    """A labelled-text file or frame has a row that is not ``text`` with a 0/1 label."""


def read_uci(path: Path, source: str) -> pd.DataFrame:
    """A UCI ``sentence<TAB>label`` file; every non-empty line is one row, or a clear error names the line."""
    rows = []
    # newline=None: \r, \n and \r\n all end a line; Mac Roman decodes every byte, so no row is lost to encoding.
    with path.open(encoding="mac_roman", newline=None) as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            text, tab, label = line.rstrip("\r\n").rpartition("\t")
            if not tab or label.strip() not in ("0", "1") or not text.strip():
                raise BadLabelledText(f"{path}:{number}: expected 'sentence<TAB>0|1', got {line[:80]!r}")
            rows.append((_unquoted(text.strip()), int(label), source))
    return pd.DataFrame(rows, columns=COLUMNS)


def _unquoted(text: str) -> str:
    """Some IMDb sentences are CSV-quoted (``"...""word""..."``): the quotes are the file's, not the writer's."""
    if len(text) > 1 and text.startswith('"') and text.endswith('"'):
        return text[1:-1].replace('""', '"').strip()
    return text


def read_goemotions(path: Path) -> pd.DataFrame:
    """The binary GoEmotions CSV (``text,label``, RFC 4180 quoting, gzip)."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        frame = pd.DataFrame(list(csv.DictReader(handle)), columns=["text", "label"])
    frame["source"] = GOEMOTIONS
    return checked(frame)


def load_sources(data_dir: Path, sources: tuple[str, ...] = SOURCES) -> pd.DataFrame:
    """Every labelled text of ``sources`` under ``data_dir`` (the shared data folder), in a stable order."""
    unknown = set(sources) - set(SOURCES)
    if unknown:
        raise ValueError(f"unknown source(s) {sorted(unknown)}; known: {', '.join(SOURCES)}")
    frames = []
    for source in sources:
        if source == GOEMOTIONS:
            frames.append(read_goemotions(data_dir / "sentiment_goemotions" / "goemotions_binary.csv.gz"))
        else:
            frames.append(read_uci(data_dir / "sentiment_uci" / _UCI_FILES[source], source))
    return pd.concat(frames, ignore_index=True)


def checked(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as ``text`` (stripped, non-empty), ``label`` (0/1 int) and ``source``: labelled rows from anywhere
    (e.g. moderators' reviews from the apps) pass here first, or a clear error says which row is wrong."""
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise BadLabelledText(f"labelled texts lack column(s) {missing}")
    result = frame[COLUMNS].copy()
    result["text"] = result["text"].astype(str).str.strip()
    labels = pd.to_numeric(result["label"], errors="coerce")
    bad = result["text"].eq("") | ~labels.isin([0, 1]) | result["source"].isna()
    if bad.any():
        first = result[bad].iloc[0]
        raise BadLabelledText(f"{int(bad.sum())} row(s) without text, a 0/1 label or a source, e.g. {dict(first)}")
    result["label"] = labels.astype(int)
    result["source"] = result["source"].astype(str)
    return result.reset_index(drop=True)


def source_summary(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Rows and share of positives per source: what the training-data asset shows."""
    grouped = frame.groupby("source")["label"].agg(["size", "mean"])
    return {
        str(source): {"rows": int(row["size"]), "positive_share": round(float(row["mean"]), 4)}
        for source, row in grouped.iterrows()
    }


def training_rows(data_dir: Path, *, sample: int | None, extra: pd.DataFrame | None = None) -> pd.DataFrame:
    """What a training run learns from: every source (plus ``extra`` labelled rows, e.g. moderators' reviews),
    at most ``sample`` rows of each."""
    rows = load_sources(data_dir)
    if extra is not None and not extra.empty:
        rows = pd.concat([rows, checked(extra)], ignore_index=True)
    return sample_per_source(rows, sample)


def hash_fraction(text: str, salt: str) -> float:
    """A number in [0, 1) fixed by the text: the same text always lands on the same side of a split."""
    return int(hashlib.sha256(f"{salt}:{text}".encode()).hexdigest()[:12], 16) / 16**12


def sample_per_source(rows: pd.DataFrame, sample: int | None) -> pd.DataFrame:
    """At most ``sample`` rows of each source, the same ones every run (by text hash); all rows when None."""
    if sample is None:
        return rows.reset_index(drop=True)
    if sample < 1:
        raise ValueError(f"sample must be at least 1 row per source, got {sample}")
    rank = rows["text"].map(lambda text: hash_fraction(text, "sample"))
    chosen = rank.groupby(rows["source"]).rank(method="first") <= sample
    return rows[chosen].reset_index(drop=True)
