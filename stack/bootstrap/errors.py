"""Bootstrap failures: every message starts with the store it is about, like the stack's ServiceError."""

from __future__ import annotations


class BootstrapError(RuntimeError):
    def __init__(self, store: str, reason: str) -> None:
        self.store = store
        self.reason = reason
        super().__init__(f"{store}: {reason}")


class MigrationError(BootstrapError):
    """The migration files and the store's record of applied migrations disagree; nothing more is applied."""
