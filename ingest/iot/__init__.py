"""The IoT domain: a device registry (sites, device models, devices, firmware, configuration, maintenance tickets,
anomaly alerts) over PostgreSQL and MongoDB, and telemetry at volume: a gateway that produces readings straight to
Kafka, a writer that keeps them in Cassandra, and a fleet simulator and series replay to feed it."""
