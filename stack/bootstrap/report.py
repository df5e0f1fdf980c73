"""Progress lines of one store: prefixed with the store (and the domain), shown as they happen, kept for the caller."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]


class Report:
    def __init__(self, store: str, progress: Progress, domain: str | None = None) -> None:
        self.store = store if domain is None else f"{store} {domain}"
        self.progress = progress
        self.lines: list[str] = []

    def __call__(self, message: str) -> None:
        line = f"{self.store}: {message}"
        self.lines.append(line)
        self.progress(line)

    def up_to_date(self, count: int, noun: str = "migration") -> None:
        self(f"up to date ({count} {noun}{'' if count == 1 else 's'})")
