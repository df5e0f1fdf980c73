"""A small generated network goes app → outbox → relay → Kafka → bronze → silver (checked) → gold, with the kit's
Dagster factories on the real stack; gold engagement matches counts taken from the generated commands."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from dagster import materialize

from assets.core.domain import domain_assets
from assets.resources import LakehouseResource
from assets.social import descriptions
from ingest.core.reference_text import load_sentences
from ingest.core.storage import KIT_STORAGE
from ingest.social.commands import AddComment, CreatePost, React
from ingest.social.context import open_context
from ingest.social.contract import CONTRACT
from ingest.social.generator import SocialTraffic, generate, social_commands
from ingest.social.relay import relay_pass
from ingest.social.service import handle
from lakehouse.settings import Settings
from pipelines.social.lakehouse import LAKEHOUSE
from stack.bootstrap import apply_all

pytestmark = pytest.mark.integration


def test_generated_network_reaches_gold(stack_settings: Settings, spark, tmp_path, unique_name) -> None:
    apply_all(stack_settings, [KIT_STORAGE, CONTRACT.storage], progress=lambda line: None)
    config = SocialTraffic(seed=3, count=12, users=20, now=datetime(2026, 3, 1, tzinfo=UTC), id_prefix=unique_name)
    sentences = load_sentences(stack_settings.shared_data_dir)[:500]
    commands = list(social_commands(config, sentences))
    with open_context(stack_settings, actor="test", views=False) as ctx:
        # Through the generator, as `lakehouse generate social` does: users another run registered (the main job's
        # generator, chat's ids) are the same people, not a conflict.
        generate(config, sentences, lambda command: handle(command, ctx), lambda line: None)
    # Users and follows replay earlier runs' (same ids); the posts and comments are new.
    assert relay_pass(stack_settings) >= sum(isinstance(c, CreatePost | AddComment) for c in commands)

    built = domain_assets(LAKEHOUSE, descriptions.SILVER, descriptions.GOLD)
    settings = stack_settings.model_copy(update={"lake_root": str(tmp_path)})
    result = materialize(
        [*built.assets, *built.checks], resources={"lakehouse": LakehouseResource.from_settings(settings)}
    )
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())

    gold = lambda name: spark.read.format("delta").load(str(tmp_path / "gold" / f"social_{name}"))  # noqa: E731
    mine = f"post_id LIKE '{unique_name}%'"
    engagement = gold("post_engagement_daily").filter(mine).groupBy("post_id").sum("comments", "reactions")
    got = {r.post_id: (r["sum(comments)"], r["sum(reactions)"]) for r in engagement.collect()}
    comments = Counter(c.post_id for c in commands if isinstance(c, AddComment))
    reactions = Counter(c.post_id for c in commands if isinstance(c, React))
    expected = {p: (comments[p], reactions[p]) for p in comments | reactions}
    assert got == expected
    posts = {c.post_id for c in commands if isinstance(c, CreatePost)}
    trending = gold("trending_posts").filter(mine).collect()
    assert {r.post_id for r in trending} <= posts and all(r.score > 0 for r in trending)
    topics = gold("topic_sentiment_daily").collect()
    assert all(r.posts == r.positive + r.negative + r.unscored for r in topics)
    assert sum(r.posts for r in topics) >= len(posts)
