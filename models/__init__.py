"""Training and registering models. Generic: ``registry`` (MLflow runs, versions, the champion alias and its gate).
One folder per model: ``fraud/``, ``sentiment/``."""
