"""Split a .cql file into statements: the driver runs one statement per request, unlike psql or cqlsh."""

from __future__ import annotations

# Openers of spans in which a ';' does not end a statement, and what closes each of them.
_QUOTES = {"'": "'", '"': '"', "$$": "$$"}
_COMMENTS = {"--": "\n", "//": "\n", "/*": "*/"}


def split_statements(text: str) -> list[str]:
    """The statements of ``text`` without their ';' and without comments, empty ones dropped."""
    statements: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(text):
        pair = text[index : index + 2]
        char = text[index]
        if pair in _COMMENTS:
            end = text.find(_COMMENTS[pair], index + 2)
            index = len(text) if end < 0 else end + len(_COMMENTS[pair])
            current.append(" ")
            continue
        opener = pair if pair in _QUOTES else char if char in _QUOTES else None
        if opener is not None:
            end = _closing(text, index + len(opener), _QUOTES[opener])
            current.append(text[index:end])
            index = end
            continue
        if char == ";":
            statements.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    statements.append("".join(current))
    return [statement.strip() for statement in statements if statement.strip()]


def _closing(text: str, start: int, closer: str) -> int:
    """Index just past the ``closer`` ending a quoted span; a doubled quote inside the span is an escape."""
    index = start
    while True:
        end = text.find(closer, index)
        if end < 0:
            raise ValueError(f"unterminated {closer} quote starting near: {text[start - 1 : start + 40]!r}")
        if closer != "$$" and text[end + 1 : end + 2] == closer:
            index = end + 2
            continue
        return end + len(closer)
