"""The kit every domain app is built from: the event envelope and contract, the transactional outbox in the
domain's own schema, the relay that publishes any domain's outbox, idempotent commands, the unit of work, the
errors an app maps to HTTP codes, and progress lines for long runs."""
