"""IoT lakehouse: registry silver, telemetry and score streams, gold aggregates, declared with the kit."""
