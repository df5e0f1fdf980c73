"""One Cassandra session for any domain: contact points, keyspace and timeouts from the settings, closed on exit.

Domains keep their own tables and prepared statements; how to reach the ring is the same for all of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, Session
from cassandra.policies import RoundRobinPolicy

from lakehouse.settings import Settings, host_port


@contextmanager
def open_session(settings: Settings, timeout_s: float = 30.0) -> Iterator[Session]:
    """A session in ``settings.cassandra_keyspace``; the cluster is shut down when the block exits."""
    points = [host_port(part, 9042) for part in settings.cassandra_contact_points.split(",") if part.strip()]
    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=timeout_s)
    cluster = Cluster(
        contact_points=points, execution_profiles={EXEC_PROFILE_DEFAULT: profile}, connect_timeout=timeout_s
    )
    try:
        yield cluster.connect(settings.cassandra_keyspace)
    finally:
        cluster.shutdown()
