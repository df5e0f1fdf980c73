"""The sentiment model: the labelled texts it learns from (embedded once, through the on-disk cache) and the
classifier, logged and registered in MLflow, promoted by the champion gate."""

from dagster import Config, MaterializeResult, MetadataValue, asset

from assets.core.keys import table_key
from assets.core.mlflow_links import run_url
from assets.resources import LakehouseResource
from models.sentiment import QUICK_SAMPLE

MODEL = "sentiment"
TRAINING_DATA = table_key(MODEL, "features", "training_data")
CLASSIFIER = table_key(MODEL, "models", "classifier")


class SentimentTrainingConfig(Config):
    """At most this many texts of each source (None: all ~28k); the default trains in about 2 minutes cold."""

    sample: int | None = QUICK_SAMPLE


@asset(key=TRAINING_DATA, group_name=MODEL, kinds={"pandas", "numpy"})
def sentiment_training_data(config: SentimentTrainingConfig, lakehouse: LakehouseResource) -> MaterializeResult:
    """Labelled texts (1 positive, 0 negative) from Reddit comments (GoEmotions), Amazon, IMDb and Yelp reviews and
    moderators' reviews of chat messages and social posts, with their sentence embeddings in the cache: what the
    sentiment model that moderates chat and social learns from. Shows the rows and the share of positive texts per
    source, and how many moderators' reviews the apps have so far."""
    from models.sentiment.data import source_summary
    from models.sentiment.dataset import embedded_training_rows
    from models.sentiment.reviews import moderator_reviews, review_counts

    settings = lakehouse.settings()
    reviews = moderator_reviews(settings, lakehouse.spark())
    texts = embedded_training_rows(settings, sample=config.sample, extra=reviews, progress=lambda _: None)
    return MaterializeResult(
        metadata={
            "rows": len(texts.rows),
            "per_source": MetadataValue.json(source_summary(texts.rows)),
            "moderator_reviews": MetadataValue.json(review_counts(reviews)),
            "positive_share": float(texts.rows["label"].mean()),
            "encoder": texts.encoder.version,
            "sample": "all" if config.sample is None else config.sample,
        }
    )


@asset(key=CLASSIFIER, group_name=MODEL, kinds={"scikitlearn", "mlflow"}, deps=[TRAINING_DATA])
def sentiment_classifier(context, config: SentimentTrainingConfig, lakehouse: LakehouseResource) -> MaterializeResult:
    """The sentiment classifier (logistic regression on MiniLM embeddings) that scores chat messages and social
    posts, trained on the labelled texts and moderators' reviews, logged to MLflow and registered; the `champion`
    alias, which the sentiment service serves, moves only when it beats the current champion on the same held-out
    texts."""
    from models.sentiment.registry import train_and_register  # MLflow is slow to import: only this asset needs it
    from models.sentiment.reviews import moderator_reviews, review_counts

    settings = lakehouse.settings()
    reviews = moderator_reviews(settings, lakehouse.spark())
    outcome = train_and_register(settings, sample=config.sample, extra=reviews, progress=context.log.info)
    context.log.info(f"model {outcome.model_name} v{outcome.version}: {outcome.reason}")
    return MaterializeResult(
        metadata={
            "model": f"{outcome.model_name} v{outcome.version}",
            "promoted": outcome.promoted,
            "champion_version": outcome.champion_version,
            "decision": outcome.reason,
            "moderator_reviews": MetadataValue.json(review_counts(reviews)),
            **{name: MetadataValue.float(value) for name, value in outcome.metrics.items()},
            "mlflow_run_id": outcome.run_id,
            "mlflow_ui": MetadataValue.url(run_url(settings, outcome.run_id)),
        }
    )
