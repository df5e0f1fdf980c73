"""Model services: one folder per model (``fraud/``: BentoML service, feature assembly, wire contract), and what
they share: ``auth`` (API keys), ``registry`` (the served models and their ports), ``server`` (start and stop any of
them), ``cli`` (``lakehouse serve <model>``). Imports nothing, so importing a contract loads only the contract."""
