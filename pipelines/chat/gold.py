"""Chat gold: each room's daily activity, recomputed in full from silver on every run.

A day is the UTC day a message was sent. Deleted messages still count (they were sent; moderation of them
happened). Sentiment comes from the newest moderation decision of each message; messages never decided are
``unscored``. The moderation rate is the flagged share of the day's messages. System messages (author
``system``) count as messages but not as active users.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingest.chat.contract import SYSTEM_AUTHOR
from pipelines.core.domain import GoldTable
from pipelines.core.tables import DomainLake


def room_activity_daily(messages: DataFrame, moderations: DataFrame) -> DataFrame:
    decided = moderations.select("message_id", "label", "flagged")
    rows = messages.select("message_id", "room_id", "day", "author_id").join(decided, "message_id", "left")
    human = F.when(F.col("author_id") != SYSTEM_AUTHOR, F.col("author_id"))
    daily = rows.groupBy("room_id", "day").agg(
        F.count("message_id").alias("messages"),
        F.countDistinct(human).alias("active_users"),
        F.count(F.when(F.col("label") == 1, True)).alias("positive"),
        F.count(F.when(F.col("label") == 0, True)).alias("negative"),
        F.count(F.when(F.col("label").isNull(), True)).alias("unscored"),
        F.count(F.when(F.col("flagged"), True)).alias("flagged"),
    )
    return daily.withColumn("moderation_rate", F.col("flagged") / F.col("messages"))


def _room_activity(spark: SparkSession, lake: DomainLake) -> DataFrame:
    read = spark.read.format("delta")
    return room_activity_daily(read.load(lake.silver("messages")), read.load(lake.silver("message_moderations")))


GOLD_TABLES: dict[str, GoldTable] = {
    "room_activity_daily": GoldTable(_room_activity, ("messages", "message_moderations"), ("day",)),
}
