"""Message ids and partition buckets: a message's timeuuid carries its send time, and the time picks its day
(``chat_messages_by_room``) and month (``chat_mentions_by_user``) partitions.

The id is chosen before the PostgreSQL transaction commits and travels in the ``chat.message.sent`` event, so the
app's Cassandra write and the relay's projection write the very same row.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from cassandra.util import datetime_from_uuid1, uuid_from_time

# "@u-000042" or "@ada": a word-ish token after an @ that is not part of an e-mail address or another word.
MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9][\w.-]{0,63})")


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def message_id_at(sent_at: datetime) -> uuid.UUID:
    """A fresh timeuuid of ``sent_at`` (random node and clock sequence, so two ids of one instant differ)."""
    return uuid_from_time(as_utc(sent_at).timestamp())


def sent_at_of(message_id: uuid.UUID | str) -> datetime:
    """The send time a timeuuid carries (UTC, to the microsecond)."""
    return datetime_from_uuid1(uuid.UUID(str(message_id))).replace(tzinfo=UTC)


def day_of(moment: datetime) -> str:
    """The day bucket of a time: 'YYYY-MM-DD' in UTC (a naive time is read as UTC)."""
    return as_utc(moment).strftime("%Y-%m-%d")


def month_of(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m")


def write_timestamp(moment: datetime) -> int:
    """Cassandra's write time (microseconds) for a change made at ``moment``: newer changes win, replays lose."""
    return int(as_utc(moment).timestamp() * 1_000_000)


def mentioned(text: str) -> list[str]:
    """The user ids @mentioned in ``text``, first mention first, each once (a trailing full stop is punctuation)."""
    found = (match.rstrip(".") for match in MENTION.findall(text))
    return list(dict.fromkeys(name for name in found if name))
