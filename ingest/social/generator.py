"""`lakehouse generate social`: a small social network made of real sentences, as commands.

Users ``u-000001``... (the id space chat uses too, so a flag in chat can restrict the same person here); a follow
graph where a few accounts are popular (follow targets drawn with Zipf-like weights); posts and comments whose text
and true sentiment are real labelled sentences (`sentences.py`), each post with one or two hashtags from a small
topic list appended; reactions that lean on the sentence's label; and moderator reviews of a sample of posts
reporting the true label. Everything is drawn from one seeded generator and stamped inside a window ending at
``now`` (default: today 00:00 UTC), so a re-run with the same arguments is a replay that changes nothing.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from ingest.core.errors import IdempotencyConflict
from ingest.core.reference_text import Sentence
from ingest.social.commands import AddComment, ChangeFollow, Command, CreatePost, React, RegisterUser, ReviewPost

TOPICS = ("food", "movies", "music", "travel", "tech", "sports", "books", "gaming")
POSITIVE_REACTIONS = ("like", "love", "haha", "wow")
NEGATIVE_REACTIONS = ("angry", "sad", "like")


@dataclass(frozen=True)
class SocialTraffic:
    seed: int = 42
    count: int = 200  # posts
    users: int | None = None  # None: one user per 4 posts, at least 20
    days: int = 14
    now: datetime | None = None
    follows_per_user: int = 8
    comments_per_post: float = 1.5
    reactions_per_post: float = 3.0
    review_share: float = 0.1  # posts a moderator reviews
    id_prefix: str = ""  # before post/comment/review ids, to keep two runs apart

    @property
    def user_count(self) -> int:
        return self.users or max(20, self.count // 4)

    @property
    def end(self) -> datetime:
        return self.now or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

    def shape_tag(self) -> str:
        """Everything that shapes the posts (the window's end included), hashed into their ids."""
        return hashlib.sha256(repr(replace(self, now=self.end)).encode()).hexdigest()[:8]


def user_id(number: int) -> str:
    return f"u-{number:06d}"


@dataclass
class Summary:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, command: Command) -> None:
        name = type(command).__name__
        self.counts[name] = self.counts.get(name, 0) + 1

    def add_existing(self, command: Command) -> None:
        name = f"{type(command).__name__} (existing)"
        self.counts[name] = self.counts.get(name, 0) + 1

    def describe(self) -> str:
        return "generated " + ", ".join(f"{n} {name}" for name, n in sorted(self.counts.items()))


def _popularity(users: list[str]) -> list[float]:
    return [1.0 / (rank + 1) ** 1.1 for rank in range(len(users))]


def _tagged(sentence: Sentence, rng: random.Random) -> str:
    tags = rng.sample(TOPICS, 2 if rng.random() < 0.3 else 1)
    return f"{sentence.text} {' '.join('#' + tag for tag in tags)}"


def social_commands(config: SocialTraffic, sentences: list[Sentence]) -> Iterator[Command]:
    """Every command of the generated network, in an order the app accepts (users, follows, then activity)."""
    rng = random.Random(config.seed)
    start = config.end - timedelta(days=config.days)
    users = [user_id(n) for n in range(1, config.user_count + 1)]
    for uid in users:
        yield RegisterUser(user_id=uid, handle=f"user{uid[2:]}", email=f"{uid}@example.org", registered_at=start)
    weights = _popularity(users)
    for uid in users:
        for followee in set(rng.choices(users, weights, k=config.follows_per_user)) - {uid}:
            yield ChangeFollow(follower_id=uid, followee_id=followee, changed_at=start)
    span, tag = config.days * 86_400, config.shape_tag()
    moments = sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in range(config.count))
    for n, at in enumerate(moments, start=1):
        # The seed, the window's end and the shape of the run are in the id: another seed, other sizes or a run on
        # another day add new posts instead of clashing with old ones; the same config on the same day replays.
        post_id = f"{config.id_prefix}p-{config.seed}-{config.end:%Y%m%d}-{tag}-{n:07d}"
        yield from _post_activity(config, rng, users, sentences, post_id, at)


def _post_activity(
    config: SocialTraffic, rng: random.Random, users: list[str], sentences: list[Sentence], post_id: str, at: datetime
) -> Iterator[Command]:
    sentence = rng.choice(sentences)
    author = rng.choice(users)
    yield CreatePost(post_id=post_id, author_id=author, text=_tagged(sentence, rng), created_at=at)
    for c in range(_poisson(rng, config.comments_per_post)):
        reply = rng.choice(sentences)
        later = at + timedelta(minutes=rng.uniform(1, 600))
        cid = f"{post_id}-c{c + 1}"
        yield AddComment(
            comment_id=cid, post_id=post_id, author_id=rng.choice(users), text=reply.text, created_at=later
        )
    kinds = POSITIVE_REACTIONS if sentence.label == 1 else NEGATIVE_REACTIONS
    for reader in set(rng.sample(users, min(len(users), _poisson(rng, config.reactions_per_post)))):
        when = at + timedelta(minutes=rng.uniform(1, 300))
        yield React(post_id=post_id, user_id=reader, kind=rng.choice(kinds), reacted_at=when)  # type: ignore[arg-type]
    if rng.random() < config.review_share:
        decision = "remove" if sentence.label == 0 and rng.random() < 0.2 else "keep"
        yield ReviewPost(
            review_id=f"{post_id}-r",
            post_id=post_id,
            reviewer_id="moderator-1",
            label=sentence.label,
            decision=decision,
            reviewed_at=at + timedelta(hours=rng.uniform(1, 24)),
        )


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: small means only, which is all a post's comments and reactions need.
    limit, k, product = pow(2.718281828459045, -mean), 0, rng.random()
    while product > limit:
        k, product = k + 1, product * rng.random()
    return k


def generate(
    config: SocialTraffic, sentences: list[Sentence], sink: Callable[[Command], None], report: Callable[[str], None]
) -> Summary:
    summary = Summary()
    for command in social_commands(config, sentences):
        try:
            sink(command)
        except IdempotencyConflict:
            if not isinstance(command, RegisterUser):
                raise
            # Registered before (another day's window, or chat's generator with the same ids): the same person.
            summary.add_existing(command)
            continue
        summary.add(command)
        if isinstance(command, CreatePost) and summary.counts["CreatePost"] % max(1, config.count // 10) == 0:
            report(f"{summary.counts['CreatePost']}/{config.count} posts")
    return summary
