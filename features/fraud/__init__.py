"""The fraud model's features: the spec, offline (Spark, point-in-time), online (Redis), request features, the
PostgreSQL fallback, and the training set, all computed from the e-commerce silver tables."""
