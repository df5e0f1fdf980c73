"""The chat and social part of the main job: conversations and posts generated through the domains' use cases, their
moderation by the sentiment service, a few live messages with the decisions taken on them, and one notification
that crossed domains (an e-commerce order held for review, told in the customer's support chat).

The generators leave their content queued for moderation (bulk history is never held to the service's pace);
``moderate_backlog`` then has the service decide it in batches of up to 1,000, as ``lakehouse <domain>
moderate-pending`` does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from ingest.chat import commands as chat_commands
from ingest.chat.context import open_context as open_chat
from ingest.chat.generator import GeneratorConfig
from ingest.chat.generator import generate as generate_chat
from ingest.chat.moderation_record import recorder
from ingest.chat.service import handle as handle_chat
from ingest.core import moderation
from ingest.core.errors import IdempotencyConflict
from ingest.core.reference_text import Sentence, load_sentences
from ingest.core.relay import relay_pass
from ingest.domains import consume_notifications, relay_sources
from ingest.social.context import open_context as open_social
from ingest.social.generator import SocialTraffic
from ingest.social.generator import generate as generate_social
from ingest.social.moderation import record as record_social
from ingest.social.service import handle as handle_social
from lakehouse.settings import Settings
from serving.sentiment.contract import SentimentServiceError

Progress = Callable[[str], None]
DEMO_ROOM = "demo-moderation"
DEMO_USERS = ("u-demo-ana", "u-demo-ben")


@dataclass(frozen=True)
class ModeratedMessage:
    text: str
    truth: int  # the label the reference data gives the sentence
    label: int
    score: float
    flagged: bool
    reason: str
    when: str  # when the decision was taken: after commit, by the pending pass, in an earlier run


@dataclass(frozen=True)
class SupportNotice:
    room_id: str
    text: str


def community_configs(
    *, messages: int, posts: int, seed: int, now: datetime | None = None
) -> tuple[GeneratorConfig, SocialTraffic]:
    """The chat and social generators' settings. ``now`` ends both windows (default: today 00:00 UTC); their ids
    depend on it, so a caller that fixes it for its other domains must fix it here too: CI's main-job test, whose
    second run crossed midnight, published 717 events again when it did not."""
    chat = GeneratorConfig(
        count=messages, seed=seed, users=max(20, messages // 10), rooms=max(4, messages // 50), now=now
    )
    return chat, SocialTraffic(seed=seed, count=posts, now=now)


def generate_community(
    settings: Settings, *, messages: int, posts: int, seed: int, progress: Progress, now: datetime | None = None
) -> list[str]:
    """Chat conversations and a social network from the real labelled sentences; returns one summary line each."""
    chat_config, social_config = community_configs(messages=messages, posts=posts, seed=seed, now=now)
    with open_chat(settings, actor="main-job") as ctx:
        chat = generate_chat(chat_config, lambda command: handle_chat(command, ctx), settings, progress)
    sentences = load_sentences(settings.shared_data_dir)
    with open_social(settings, actor="main-job", views=False) as ctx:
        social = generate_social(
            social_config,
            sentences,
            lambda command: handle_social(command, ctx),
            progress,
        )
    return [chat.describe(), f"social: {social.describe()}"]


MAX_REFUSALS, MIN_BATCH, REFUSAL_PAUSE_S = 5, 50, 5.0


def moderate_backlog(settings: Settings, progress: Progress) -> dict[str, int]:
    """Have the service decide every queued message, post and comment; returns how many per domain."""
    decided = {"chat": 0, "social": 0}
    with open_chat(settings, actor="main-job") as ctx:
        decided["chat"] = _drain(settings, ctx.pool, "chat", recorder(ctx.views), progress)
    with open_social(settings, actor="main-job", views=False) as ctx:
        decided["social"] = _drain(settings, ctx.pool, "social", record_social, progress)
    return decided


def _drain(settings: Settings, pool, domain: str, record: moderation.Record, progress: Progress) -> int:
    total, limit, refusals = 0, moderation.MAX_BATCH, 0
    while True:
        try:
            # No grace period: the generators that queued this content are done, nobody else is asking about it.
            decided = moderation.moderate_pending(settings, pool, domain, record, limit=limit, grace=timedelta(0))
        except SentimentServiceError as error:
            # A loaded machine can make a batch miss the service's latency bound (BentoML answers 503): the batch
            # stayed queued, so ask again with half as many items; another error, or five refusals, ends the run.
            refusals += 1
            if error.status_code != 503 or refusals > MAX_REFUSALS:
                raise
            limit = max(limit // 2, MIN_BATCH)
            progress(f"{domain}: the service refused a batch (503, busy); retrying with {limit} items")
            time.sleep(REFUSAL_PAUSE_S)
            continue
        if not decided:
            return total
        total += decided
        progress(f"{domain}: {total} decided, {moderation.pending_count(pool, domain)} queued")


def demo_messages(sentences: list[Sentence], count: int = 4) -> list[Sentence]:
    """Half positive, half negative, the first of each in the reference data's own order: real text, stable runs."""
    positive = [s for s in sentences if s.label == 1 and 20 <= len(s.text) <= 160]
    negative = [s for s in sentences if s.label == 0 and 20 <= len(s.text) <= 160]
    return [s for pair in zip(positive, negative, strict=False) for s in pair][:count]


def moderate_live_messages(settings: Settings) -> list[ModeratedMessage]:
    """Send a few messages through the chat use case with the service on, as the app does, and read the decisions.

    Command ids are fixed, so a re-run replays them (nothing duplicated) and shows the decisions already taken.
    """
    samples = demo_messages(load_sentences(settings.shared_data_dir))
    owner, member = DEMO_USERS
    with open_chat(settings, actor="main-job", moderation=True) as ctx:
        for user in DEMO_USERS:
            _apply_once(ctx, chat_commands.RegisterUser(user_id=user, display_name=user.removeprefix("u-demo-")))
        room = chat_commands.CreateRoom(
            room_id=DEMO_ROOM, kind="group", title="Moderation demo", owner_id=owner, members=[member]
        )
        _apply_once(ctx, room)
        ids, answered = [], []
        for number, sample in enumerate(samples):
            author = DEMO_USERS[number % 2]
            command = chat_commands.SendMessage(
                command_id=f"demo-moderation-{number}", room_id=DEMO_ROOM, author_id=author, text=sample.text
            )
            accepted = handle_chat(command, ctx)
            ids.append(accepted.id)
            answered.append(accepted.moderation)
        if "unscored" in answered:  # the service was slow or down: what a moderate-pending pass does later
            _drain(settings, ctx.pool, "chat", recorder(ctx.views), lambda line: None)
        with ctx.pool.connection() as conn:
            rows = conn.execute(
                """SELECT content_id, label, score, flagged, reason FROM chat.moderation_decisions
                WHERE content_kind = 'message' AND content_id = ANY(%s)""",
                (ids,),
            ).fetchall()
    decided = {row[0]: row[1:] for row in rows}
    return [
        ModeratedMessage(sample.text, sample.label, *decided[message_id], when=_when(status))
        for sample, message_id, status in zip(samples, ids, answered, strict=True)
        if message_id in decided
    ]


def _when(status: str | None) -> str:
    # None: a replayed command (an earlier run decided it); "unscored": the app gave up waiting, the queue decided.
    return {"scored": "after commit", "flagged": "after commit", "unscored": "by the pending pass"}.get(
        status or "", "in an earlier run"
    )


def _apply_once(ctx, command: chat_commands.Command) -> None:
    # Registered by an earlier run with other details (another day's registration time): the same demo user.
    with suppress(IdempotencyConflict):
        handle_chat(command, ctx)


def support_notices(settings: Settings, customer_ids: list[str]) -> list[SupportNotice]:
    """Relay e-commerce's new events (the held orders go to NATS too), let chat consume them, and read what the
    customers' support rooms were told."""
    relay_pass(settings, relay_sources("ecommerce"))
    consume_notifications(settings, "chat")
    relay_pass(settings, relay_sources("chat"))
    with open_chat(settings, actor="main-job") as ctx, ctx.pool.connection() as conn:
        rows = conn.execute(
            """SELECT DISTINCT ON (r.room_id) r.room_id, m.body FROM chat.rooms r
            JOIN chat.messages m ON m.room_id = r.room_id AND m.author_id = 'system'
            WHERE r.external_ref = ANY(%s) ORDER BY r.room_id, m.sent_at DESC""",
            ([f"ecommerce:{customer}" for customer in customer_ids],),
        ).fetchall()
    return [SupportNotice(room_id, text) for room_id, text in rows]
