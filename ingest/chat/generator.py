"""`lakehouse generate chat`: conversations in rooms, through the app's own use cases, from real sentences.

Users are ``u-000001`` ... (the identity chat and social share); rooms are mostly groups with an owner, a
moderator and members, plus some direct rooms. Each message is a real sentence with its true sentiment label
(GoEmotions, UCI reviews); some @mention another member, some are edited (with another real sentence of the same
sentiment) or deleted, and the room's moderator reviews a sample, labelling it with the true label (a negative
one is sometimes removed). Ids come from the seed and the window's end, so a re-run with the same arguments on the
same day replays its commands and adds nothing.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from ingest.chat.commands import (
    Command,
    CreateRoom,
    DeleteMessage,
    EditMessage,
    RegisterUser,
    ReviewMessage,
    SendMessage,
)
from ingest.chat.unit_of_work import Accepted
from ingest.core.errors import IdempotencyConflict
from ingest.core.progress import Progress, ProgressMeter
from ingest.core.reference_text import Sentence, load_sentences
from lakehouse.settings import Settings

Sink = Callable[[Command], Accepted]


@dataclass(frozen=True)
class GeneratorConfig:
    count: int = 1000  # messages
    seed: int = 42
    users: int = 200
    rooms: int = 20
    days: int = 7
    now: datetime | None = None  # end of the window; None: today's midnight UTC (re-runs that day replay)
    mention_rate: float = 0.1
    edit_rate: float = 0.05
    delete_rate: float = 0.03
    review_rate: float = 0.05

    def shape_tag(self) -> str:
        """Everything that shapes the rooms and messages (the window's end included), hashed into their ids: a
        run with other sizes or on another day adds its own rooms instead of clashing with an earlier run's; the
        same config on the same day replays."""
        shape = replace(self, now=window_end(self.now))
        return hashlib.sha256(repr(shape).encode()).hexdigest()[:8]


@dataclass
class GeneratorSummary:
    commands: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    true_labels: Counter[int] = field(default_factory=Counter)

    def describe(self) -> str:
        by_type = ", ".join(f"{name} {n}" for name, n in sorted(self.commands.items()))
        return f"chat: {by_type}; outcomes {dict(self.outcomes)}; true labels {dict(self.true_labels)}"


def user_id(number: int) -> str:
    return f"u-{number:06d}"


def window_end(now: datetime | None) -> datetime:
    if now is not None:
        return now.astimezone(UTC)
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def rooms_of(config: GeneratorConfig, rng: random.Random, start: datetime) -> list[CreateRoom]:
    """Every ``rooms``-th room is direct (two users); the others are groups of 3 to 12."""
    rooms, end, tag = [], window_end(config.now), config.shape_tag()
    for index in range(config.rooms):
        direct = index % 5 == 4
        people = rng.sample(range(1, config.users + 1), 2 if direct else rng.randint(3, min(12, config.users)))
        rooms.append(
            CreateRoom(
                room_id=f"gen-{config.seed}-{end:%Y%m%d}-{tag}-r{index:04d}",
                kind="direct" if direct else "group",
                title="" if direct else f"room {index}",
                owner_id=user_id(people[0]),
                members=[user_id(p) for p in people[1:]],
                created_at=start,
            )
        )
    return rooms


def conversation(
    config: GeneratorConfig, rng: random.Random, sentences: list[Sentence], rooms: list[CreateRoom], start: datetime
) -> Iterator[tuple[datetime, int, SendMessage, Sentence, CreateRoom]]:
    """The messages in time order: (time, index, command, its sentence, its room)."""
    end, tag = window_end(config.now), config.shape_tag()
    times = sorted(start + (end - start) * rng.random() for _ in range(config.count))
    for index, at in enumerate(times):
        room = rng.choice(rooms)
        people = [room.owner_id, *room.members]
        author, sentence = rng.choice(people), rng.choice(sentences)
        text = sentence.text
        others = [p for p in people if p != author]
        if others and rng.random() < config.mention_rate:
            text = f"@{rng.choice(others)} {text}"
        command_id = f"gen-{config.seed}-{end:%Y%m%d}-{tag}-m{index}"
        yield (
            at,
            index,
            SendMessage(command_id=command_id, room_id=room.room_id, author_id=author, text=text, sent_at=at),
            sentence,
            room,
        )


def follow_ups(
    config: GeneratorConfig,
    rng: random.Random,
    sentences: list[Sentence],
    sent: SendMessage,
    message_id: str,
    sentence: Sentence,
    room: CreateRoom,
) -> list[tuple[datetime, Command]]:
    """What happens to a message later: an edit, a deletion, a moderator's review (each on a sample)."""
    # Edit, then review, then delete: never a change of a message already deleted.
    later = sorted(sent.sent_at + timedelta(minutes=rng.uniform(1, 120)) for _ in range(3))
    key = f"{sent.command_id}-"
    done: list[tuple[datetime, Command]] = []
    if rng.random() < config.edit_rate:
        candidates = rng.sample(sentences, min(50, len(sentences)))
        same = rng.choice([s for s in candidates if s.label == sentence.label] or [sentence])
        done.append(
            (
                later[0],
                EditMessage(
                    command_id=key + "edit",
                    room_id=room.room_id,
                    message_id=message_id,
                    author_id=sent.author_id,
                    text=same.text,
                    at=later[0],
                ),
            )
        )
    if room.kind == "group" and rng.random() < config.review_rate:
        remove = sentence.label == 0 and rng.random() < 0.3
        done.append(
            (
                later[1],
                ReviewMessage(
                    command_id=key + "review",
                    room_id=room.room_id,
                    message_id=message_id,
                    reviewer_id=room.owner_id,
                    label=sentence.label,
                    decision="remove" if remove else "keep",
                    at=later[1],
                ),
            )
        )
    elif rng.random() < config.delete_rate:
        done.append(
            (
                later[2],
                DeleteMessage(
                    command_id=key + "delete",
                    room_id=room.room_id,
                    message_id=message_id,
                    actor_id=sent.author_id,
                    at=later[2],
                ),
            )
        )
    return done


def generate(
    config: GeneratorConfig, sink: Sink, settings: Settings, progress: Progress | None = None
) -> GeneratorSummary:
    """Send the generated commands to ``sink`` in time order; returns what was sent."""
    rng = random.Random(config.seed)
    sentences = load_sentences(settings.shared_data_dir)
    start = window_end(config.now) - timedelta(days=config.days)
    summary, meter = GeneratorSummary(), ProgressMeter(progress, every=max(1, config.count // 10))

    def run(command: Command) -> Accepted:
        accepted = sink(command)
        summary.commands[type(command).__name__] += 1
        summary.outcomes[accepted.outcome] += 1
        return accepted

    for number in range(1, config.users + 1):
        try:
            run(RegisterUser(user_id=user_id(number), display_name=f"user {number}", registered_at=start))
        except IdempotencyConflict:  # registered before (another window, social's generator): the same person
            summary.outcomes["existing"] += 1
    rooms = rooms_of(config, rng, start)
    for room in rooms:
        run(room)
    pending: list[tuple[datetime, int, Command]] = []
    for at, index, command, sentence, room in conversation(config, rng, sentences, rooms, start):
        while pending and pending[0][0] <= at:
            run(heapq.heappop(pending)[2])
        message_id = run(command).id
        summary.true_labels[sentence.label] += 1
        for order, (when, later) in enumerate(follow_ups(config, rng, sentences, command, message_id, sentence, room)):
            heapq.heappush(pending, (when, index * 3 + order, later))
        done = index + 1
        meter.update(done, lambda done=done: f"chat: {done}/{config.count} messages")
    while pending:
        run(heapq.heappop(pending)[2])
    return summary
