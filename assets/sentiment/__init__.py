"""Sentiment: the labelled texts and the classifier that moderates chat and social, one asset group with its job.

Resources and the executor are declared once, in ``assets.definitions``."""

from dagster import AssetSelection, Definitions, define_asset_job

from assets.sentiment.model import MODEL, sentiment_classifier, sentiment_training_data

sentiment_job = define_asset_job(
    "sentiment_training",
    selection=AssetSelection.groups(MODEL),
    description="Labelled texts (embedded through the cache) → sentiment classifier (MLflow, champion gate).",
)

defs = Definitions(assets=[sentiment_training_data, sentiment_classifier], jobs=[sentiment_job])
