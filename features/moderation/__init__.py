"""Moderation's author features: what an author did in the last day (messages, negative share, flagged count),
per domain. ``history`` is the arithmetic, ``online`` the Redis copy the service keeps as it decides, ``fallback``
the same numbers recomputed from the domain's ``moderation_decisions`` table in PostgreSQL."""
