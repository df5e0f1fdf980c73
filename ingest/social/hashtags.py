"""Hashtags and a post's topic, read from its text: what gold groups posts by.

A hashtag is ``#`` followed by a letter and up to 49 letters, digits or underscores, not preceded by a word
character (so "C#7" or "a#b" are not tags). Tags are lower-cased and kept once each, in order of appearance; the
post's topic is its first tag, or the topic the caller named.
"""

from __future__ import annotations

import re

HASHTAG = re.compile(r"(?<![\w#])#([^\W\d_][\w]{0,49})")
MAX_HASHTAGS = 10


def hashtags(text: str) -> list[str]:
    """The distinct tags of ``text``, lower-cased, in order of first appearance (at most ``MAX_HASHTAGS``)."""
    seen: dict[str, None] = {}
    for match in HASHTAG.finditer(text):
        seen.setdefault(match.group(1).lower(), None)
    return list(seen)[:MAX_HASHTAGS]


def topic_of(text: str, named: str | None = None) -> str | None:
    """The caller's topic (normalised like a tag) when given, else the text's first tag, else None."""
    if named:
        return named.strip().lstrip("#").lower() or None
    tags = hashtags(text)
    return tags[0] if tags else None
