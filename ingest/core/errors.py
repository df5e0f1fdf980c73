"""What can go wrong with a command, in the caller's terms; the HTTP app maps each kind to one status code."""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused; nothing it asked for was written."""


class NotFound(DomainError):
    """A referenced entity (a customer, a room, a device, ...) does not exist (HTTP 404)."""


class Forbidden(DomainError):
    """The acting user may not do this here, e.g. post in a room they are not a member of (HTTP 403)."""


class Conflict(DomainError):
    """The command contradicts what is already stored (HTTP 409)."""


class IdempotencyConflict(Conflict):
    """The command's id was used before by a command with different content."""


class InvalidCommand(DomainError):
    """The command is well-formed but not meaningful, e.g. one product twice in a cart (HTTP 422)."""
