"""The social domain's PostgreSQL reads and writes, each inside the caller's transaction: short named queries, so
use cases read as steps and no SQL is built from strings."""

from __future__ import annotations

from datetime import datetime

import psycopg

from ingest.core.errors import NotFound


def trust_level(conn: psycopg.Connection, user_id: str, lock: bool = False) -> str | None:
    query = "SELECT trust_level FROM social.users WHERE user_id = %s" + (" FOR UPDATE" if lock else "")
    row = conn.execute(query, (user_id,)).fetchone()
    return None if row is None else row[0]


def require_user(conn: psycopg.Connection, user_id: str, field: str = "user_id") -> str:
    """The user's trust level; NotFound (404) naming ``field`` when the user never registered."""
    level = trust_level(conn, user_id)
    if level is None:
        raise NotFound(f"{field}: user {user_id!r} is not registered")
    return level


def pending_trust(conn: psycopg.Connection, user_id: str) -> str | None:
    row = conn.execute("SELECT trust_level FROM social.pending_trust WHERE user_id = %s", (user_id,)).fetchone()
    return None if row is None else row[0]


def post_row(conn: psycopg.Connection, post_id: str, lock: bool = False) -> tuple[str, str] | None:
    """(author_id, status) of a post, or None."""
    query = "SELECT author_id, status FROM social.posts WHERE post_id = %s" + (" FOR UPDATE" if lock else "")
    row = conn.execute(query, (post_id,)).fetchone()
    return None if row is None else (row[0], row[1])


def require_post(conn: psycopg.Connection, post_id: str, lock: bool = False) -> tuple[str, str]:
    found = post_row(conn, post_id, lock)
    if found is None:
        raise NotFound(f"post_id: post {post_id!r} does not exist")
    return found


def set_post_status(conn: psycopg.Connection, post_id: str, status: str, actor: str) -> None:
    conn.execute(
        "UPDATE social.posts SET status = %s, updated_by = %s WHERE post_id = %s AND status <> %s",
        (status, actor, post_id, status),
    )


def current_following(conn: psycopg.Connection, follower_id: str, followee_id: str) -> bool | None:
    row = conn.execute(
        "SELECT following FROM social.follows WHERE follower_id = %s AND followee_id = %s FOR UPDATE",
        (follower_id, followee_id),
    ).fetchone()
    return None if row is None else row[0]


def followers(conn: psycopg.Connection, user_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT follower_id FROM social.follows WHERE followee_id = %s AND following ORDER BY follower_id", (user_id,)
    ).fetchall()
    return [row[0] for row in rows]


def add_flag(conn: psycopg.Connection, flag_key: str, user_id: str, flagged_at: datetime) -> bool:
    """Record one flag of ``user_id``'s content; False when this content was counted already."""
    row = conn.execute(
        "INSERT INTO social.author_flags (flag_key, user_id, flagged_at) VALUES (%s, %s, %s)"
        " ON CONFLICT (flag_key) DO NOTHING RETURNING 1",
        (flag_key, user_id, flagged_at),
    ).fetchone()
    return row is not None


def flags_in_window(conn: psycopg.Connection, user_id: str, until: datetime, hours: float) -> int:
    (count,) = conn.execute(
        "SELECT count(*) FROM social.author_flags WHERE user_id = %s"
        " AND flagged_at > %s::timestamptz - make_interval(secs => %s) AND flagged_at <= %s",
        (user_id, until, hours * 3600, until),
    ).fetchone()
    return count


def save_trust(conn: psycopg.Connection, user_id: str, level: str, reason: str, actor: str, registered: bool) -> None:
    if registered:
        conn.execute(
            "UPDATE social.users SET trust_level = %s, updated_by = %s WHERE user_id = %s", (level, actor, user_id)
        )
        return
    conn.execute(
        "INSERT INTO social.pending_trust (user_id, trust_level, reason, created_by, updated_by)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (user_id) DO UPDATE"
        " SET trust_level = EXCLUDED.trust_level, reason = EXCLUDED.reason, updated_by = EXCLUDED.updated_by",
        (user_id, level, reason, actor, actor),
    )
