"""Feature definitions and stores. Generic: ``point_in_time`` (exact instants and windows), ``online_store`` (Redis
hashes with TTL and freshness), ``pinned`` (Delta reads at one version). One folder per model: ``fraud/``."""
