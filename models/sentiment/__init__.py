"""The sentiment model: a MiniLM text encoder (``encoder``), logistic regression on its embeddings
(``training``), how it is judged (``evaluation``), its place in the registry (``registry``) and what serving loads
(``scorer``). Only names here: importing this package loads neither the encoder nor MLflow."""

SENTIMENT_MODEL_NAME = "sentiment"
SENTIMENT_EXPERIMENT_NAME = "sentiment"
# Texts per source a quick run (the main job, the Dagster default) trains on: about 2 minutes on a cold cache.
QUICK_SAMPLE = 2000
