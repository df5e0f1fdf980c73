"""Reading the labelled texts: the UCI files' old-Mac line endings, bytes and quotes; GoEmotions' CSV; labelled
rows from elsewhere; and the hash-based sample and holdout that keep runs comparable."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from lakehouse.settings import Settings
from models.sentiment.data import (
    BadLabelledText,
    checked,
    hash_fraction,
    load_sources,
    read_goemotions,
    read_uci,
    sample_per_source,
    source_summary,
    training_rows,
)
from models.sentiment.training import holdout_mask


def test_uci_lines_end_in_carriage_returns_and_may_carry_quotes_tabs_and_mac_bytes(tmp_path):
    path = tmp_path / "imdb_labelled.txt"
    path.write_bytes(
        b'"A very, very slow movie."\t0\r'
        b'Not "quoted" at all\t1\r'
        b'"It was ""fine"" in Qu\xcc\xa9bec."\t1\n'
        b"A tab\tinside the sentence\t0\r\r"
    )
    frame = read_uci(path, "imdb")
    assert frame["text"].tolist()[:2] == ["A very, very slow movie.", 'Not "quoted" at all']
    assert frame["text"][2].startswith('It was "fine" in Qu') and frame["text"][2].endswith("bec.")
    assert frame["text"][3] == "A tab\tinside the sentence"
    assert frame["label"].tolist() == [0, 1, 1, 0] and set(frame["source"]) == {"imdb"}


def test_a_uci_line_without_a_label_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine\t1\rno label here\r")
    with pytest.raises(BadLabelledText, match=r"bad.txt:2"):
        read_uci(path, "yelp")


def test_goemotions_reads_quoted_commas_and_newlines(tmp_path):
    path = tmp_path / "g.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8", newline="") as handle:
        handle.write('text,label\n"Thanks, [NAME]!",1\n"He said ""no""\nand left",0\n')
    frame = read_goemotions(path)
    assert frame.to_dict("records") == [
        {"text": "Thanks, [NAME]!", "label": 1, "source": "goemotions"},
        {"text": 'He said "no"\nand left', "label": 0, "source": "goemotions"},
    ]


def test_the_shared_sources_load_whole():
    # Counts from the data's own READMEs: every UCI file is 1,000 sentences, 500 of each label; GoEmotions 24,890.
    summary = source_summary(load_sources(Settings().shared_data_dir))
    for source in ("amazon", "imdb", "yelp"):
        assert summary[source] == {"rows": 1000, "positive_share": 0.5}
    assert summary["goemotions"]["rows"] == 24890
    assert summary["goemotions"]["positive_share"] == round(16505 / 24890, 4)


def test_labelled_rows_from_elsewhere_are_checked():
    good = checked(pd.DataFrame({"text": [" nice "], "label": ["1"], "source": ["chat-review"]}))
    assert good.to_dict("records") == [{"text": "nice", "label": 1, "source": "chat-review"}]
    with pytest.raises(BadLabelledText, match="0/1 label"):
        checked(pd.DataFrame({"text": ["x", "y"], "label": [1, 2], "source": ["a", "a"]}))
    with pytest.raises(BadLabelledText, match="lack column"):
        checked(pd.DataFrame({"text": ["x"], "label": [1]}))


def test_extra_rows_join_the_training_rows_as_their_own_source():
    extra = pd.DataFrame({"text": ["moderator says: lovely", "moderator says: vile"], "label": [1, 0], "source": "mod"})
    rows = training_rows(Settings().shared_data_dir, sample=50, extra=extra)
    assert rows["source"].value_counts().to_dict() == {"goemotions": 50, "amazon": 50, "imdb": 50, "yelp": 50, "mod": 2}


def test_a_sample_is_the_same_rows_every_time_and_grows_by_adding_rows():
    rows = pd.DataFrame({"text": [f"text {i}" for i in range(40)], "label": [i % 2 for i in range(40)], "source": "a"})
    small, again = sample_per_source(rows, 10), sample_per_source(rows.sample(frac=1, random_state=3), 10)
    assert len(small) == 10 and set(small["text"]) == set(again["text"])
    assert set(small["text"]) < set(sample_per_source(rows, 20)["text"])
    assert len(sample_per_source(rows, None)) == 40
    with pytest.raises(ValueError, match="at least 1"):
        sample_per_source(rows, 0)


def test_the_holdout_depends_on_the_text_only():
    texts = pd.Series([f"sentence number {i}" for i in range(2000)])
    mask = holdout_mask(texts)
    assert 0.17 < mask.mean() < 0.23  # about a fifth
    shuffled = texts.sample(frac=1, random_state=1)
    assert dict(zip(shuffled, holdout_mask(shuffled), strict=True)) == dict(zip(texts, mask, strict=True))
    assert hash_fraction("same", "holdout") != hash_fraction("same", "sample")
