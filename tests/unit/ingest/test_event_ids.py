"""Event ids come from a buffer of ``os.urandom`` (`envelope.new_event_id`): still version-4 UUIDs, never repeated,
and a forked app worker does not inherit the parent's unused ids."""

from __future__ import annotations

import os
import uuid

from ingest.core.envelope import EventEnvelope, new_event_id


def test_ids_are_random_version_4_uuids_and_never_repeat_across_buffer_refills() -> None:
    ids = [new_event_id() for _ in range(5_000)]  # a buffer holds 1,024
    assert len(set(ids)) == len(ids)
    parsed = [uuid.UUID(text) for text in ids]
    assert {u.version for u in parsed} == {4} and {u.variant for u in parsed} == {uuid.RFC_4122}
    assert [str(u) for u in parsed] == ids  # the canonical text, as str(uuid.uuid4()) gives
    assert EventEnvelope("t", 1, "k", {}).event_id != EventEnvelope("t", 1, "k", {}).event_id


def test_a_forked_child_does_not_hand_out_the_ids_its_parent_will() -> None:
    new_event_id()  # the parent's buffer is filled and has ids left
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: one id, then leave at once
        os.write(write, new_event_id().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child_id = os.read(read, 64).decode()
    os.close(read)
    assert uuid.UUID(child_id).version == 4
    assert child_id != new_event_id()
