"""Real labelled sentences for any domain's generator: GoEmotions (Reddit comments) and the UCI review sets, read
from ``settings.shared_data_dir`` (the reference data beside the repository). Generated content is made of these,
with their true sentiment, so no text is invented and moderation can be checked against a known answer.

The UCI files are old-Mac text (``\\r`` line endings, Mac Roman bytes, rows wrapped in unbalanced quotes): they are
read line by line with universal newlines and split on the last tab, never with a CSV reader, whose default quoting
merges or drops rows.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

GOEMOTIONS = Path("sentiment_goemotions") / "goemotions_binary.csv.gz"
UCI = Path("sentiment_uci")
MAX_CHARS = 5000  # what the apps and the sentiment service accept


@dataclass(frozen=True)
class Sentence:
    text: str
    label: int  # 1 positive, 0 negative: the truth a moderator's review reports
    source: str  # "goemotions" or "uci:<file stem>"


def read_goemotions(path: Path) -> list[Sentence]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle)
        usable = (r for r in rows if r["text"].strip() and r["label"] in ("0", "1"))
        return [Sentence(r["text"].strip(), int(r["label"]), "goemotions") for r in usable]


def read_uci(path: Path) -> list[Sentence]:
    found = []
    with path.open(encoding="mac_roman", newline=None) as lines:  # newline=None: \r, \n and \r\n end a line
        for line in lines:
            text, tab, label = line.rstrip("\r\n").rpartition("\t")
            text = text.strip()
            if tab and text and label.strip() in ("0", "1"):
                if len(text) > 1 and text.startswith('"') and text.endswith('"'):
                    text = text[1:-1].replace('""', '"').strip()
                found.append(Sentence(text, int(label), f"uci:{path.stem}"))
    return found


def load_sentences(data_dir: Path) -> list[Sentence]:
    """Every usable sentence of the reference sets, in file order; a clear error when the data is not there."""
    goemotions = data_dir / GOEMOTIONS
    if not goemotions.exists():
        raise FileNotFoundError(f"{goemotions} not found: set LAKEHOUSE_SHARED_DATA_DIR to the reference data folder")
    sentences = read_goemotions(goemotions)
    for path in sorted((data_dir / UCI).glob("*_labelled.txt")):
        sentences += read_uci(path)
    return [s for s in sentences if len(s.text) <= MAX_CHARS]
