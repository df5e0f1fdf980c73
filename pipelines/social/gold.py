"""Gold: post engagement per day, trending posts and topic sentiment per day, recomputed in full from silver.

Days are UTC calendar days. "Now" for trending is the newest engagement in the data, not the wall clock, so a
replay of history gives the same ranking.

Trending score of a post (last ``TRENDING_DAYS`` days before that "now"): every engagement counts its weight
(reaction 1, comment 2: a comment costs its author more) times ``0.5 ** (age_hours / HALF_LIFE_HOURS)``, so an
engagement a day old counts half as much as one just now. Posts a moderator removed or moderation rejected are
left out.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from ingest.social.contract import REACTION_KINDS
from pipelines.core.domain import GoldTable
from pipelines.core.tables import DomainLake

TRENDING_DAYS = 3
HALF_LIFE_HOURS = 24.0
TRENDING_TOP = 100
WEIGHTS = {"reaction": 1.0, "comment": 2.0}
HIDDEN = ("rejected", "removed")


def engagements(comments: DataFrame, reactions: DataFrame) -> DataFrame:
    """One row per engagement: post, who, when, what (``comment`` or a reaction kind)."""
    said = comments.select("post_id", F.col("author_id").alias("user_id"), F.col("created_at").alias("at"))
    said = said.withColumn("kind", F.lit("comment"))
    reacted = reactions.select("post_id", "user_id", F.col("reacted_at").alias("at"), "kind")
    return said.unionByName(reacted)


def post_engagement_daily(comments: DataFrame, reactions: DataFrame) -> DataFrame:
    daily = engagements(comments, reactions).withColumn("date", F.to_date("at"))
    kinds = [F.count(F.when(F.col("kind") == kind, True)).alias(f"{kind}_reactions") for kind in REACTION_KINDS]
    return daily.groupBy("post_id", "date").agg(
        F.count(F.when(F.col("kind") == "comment", True)).alias("comments"),
        F.count(F.when(F.col("kind") != "comment", True)).alias("reactions"),
        *kinds,
        F.countDistinct("user_id").alias("unique_engagers"),
    )


def current_status(posts: DataFrame, moderations: DataFrame, reviews: DataFrame) -> DataFrame:
    """Each post with its status now: moderation's, unless a moderator removed it."""
    moderated = moderations.select("post_id", F.col("status").alias("_moderated"), "label", "score")
    removed = (
        reviews.filter(F.col("decision") == "remove").select("post_id").distinct().withColumn("_removed", F.lit(1))
    )
    joined = posts.join(moderated, "post_id", "left").join(removed, "post_id", "left")
    status = F.when(F.col("_removed").isNotNull(), "removed").otherwise(F.coalesce("_moderated", "status"))
    return joined.withColumn("status", status).drop("_moderated", "_removed")


def trending_posts(posts: DataFrame, comments: DataFrame, reactions: DataFrame) -> DataFrame:
    rows = engagements(comments, reactions)
    now = rows.agg(F.max("at").alias("_now"))
    recent = rows.crossJoin(now).filter(F.col("at") > F.col("_now") - F.expr(f"INTERVAL {TRENDING_DAYS} DAYS"))
    age_hours = (F.col("_now").cast("double") - F.col("at").cast("double")) / 3600
    weight = F.when(F.col("kind") == "comment", WEIGHTS["comment"]).otherwise(WEIGHTS["reaction"])
    scored = recent.withColumn("_points", weight * F.pow(F.lit(0.5), age_hours / HALF_LIFE_HOURS))
    totals = scored.groupBy("post_id").agg(
        F.sum("_points").alias("score"),
        F.count("*").alias("engagements"),
        F.countDistinct("user_id").alias("unique_engagers"),
        F.max("_now").alias("as_of"),
    )
    visible = posts.filter(~F.col("status").isin(*HIDDEN)).select("post_id", "author_id", "topic", "created_at")
    ranked = totals.join(visible, "post_id").withColumn(
        "rank", F.row_number().over(Window.orderBy(F.col("score").desc(), F.col("post_id")))
    )
    return ranked.filter(F.col("rank") <= TRENDING_TOP)


def topic_sentiment_daily(posts: DataFrame) -> DataFrame:
    """Per hashtag (``(none)`` for untagged posts) and day: posts, positive/negative/unscored, mean P(positive).

    ``posts`` carries each post's moderation ``label`` and ``score`` (null while unscored)."""
    tags = F.when(F.size("hashtags") > 0, F.col("hashtags")).otherwise(F.array(F.lit("(none)")))
    exploded = posts.select(F.explode(tags).alias("topic"), F.to_date("created_at").alias("date"), "label", "score")
    return exploded.groupBy("topic", "date").agg(
        F.count("*").alias("posts"),
        F.count(F.when(F.col("label") == 1, True)).alias("positive"),
        F.count(F.when(F.col("label") == 0, True)).alias("negative"),
        F.count(F.when(F.col("label").isNull(), True)).alias("unscored"),
        F.avg("score").alias("mean_score"),
    )


def _read(spark: SparkSession, lake: DomainLake, table: str) -> DataFrame:
    return spark.read.format("delta").load(lake.silver(table))


def _posts_now(spark: SparkSession, lake: DomainLake) -> DataFrame:
    read = lambda table: _read(spark, lake, table)  # noqa: E731
    return current_status(read("posts"), read("post_moderations"), read("post_reviews"))


Builder = Callable[[SparkSession, DomainLake], DataFrame]
POST_TABLES = ("posts", "post_moderations", "post_reviews")
GOLD_TABLES: dict[str, GoldTable] = {
    "post_engagement_daily": GoldTable(
        lambda spark, lake: post_engagement_daily(_read(spark, lake, "comments"), _read(spark, lake, "reactions")),
        ("comments", "reactions"),
        ("date",),
    ),
    "trending_posts": GoldTable(
        lambda spark, lake: trending_posts(
            _posts_now(spark, lake), _read(spark, lake, "comments"), _read(spark, lake, "reactions")
        ),
        (*POST_TABLES, "comments", "reactions"),
    ),
    "topic_sentiment_daily": GoldTable(
        lambda spark, lake: topic_sentiment_daily(_posts_now(spark, lake)), POST_TABLES, ("date",)
    ),
}
