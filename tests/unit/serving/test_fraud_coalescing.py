"""Single orders scored together: each caller gets its own answer, orders queued while a batch runs form the next
batch, batches stay within their bound, and one failing order fails alone."""

from __future__ import annotations

import asyncio
import threading

import pytest

from serving.fraud.coalescing import Coalescer


class Recorder:
    """A batch scorer that doubles numbers, refuses negative ones, and can hold its first batch until released."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.first_started = threading.Event()
        self.release_first = threading.Event()
        self.release_first.set()

    def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.first_started.set()
            self.release_first.wait(5)
        if any(item < 0 for item in items):
            raise ValueError(f"negative order in {items}")
        return [item * 2 for item in items]


async def _held_then_queued(coalescer: Coalescer, recorder: Recorder, queued: list[int]) -> list:
    """Submit 0 alone, hold its batch, queue ``queued`` meanwhile, release, and gather every answer."""
    recorder.release_first.clear()
    first = asyncio.create_task(coalescer.submit(0))
    await asyncio.to_thread(recorder.first_started.wait, 5)
    rest = [asyncio.create_task(coalescer.submit(item)) for item in queued]
    await asyncio.sleep(0.05)  # every submit has queued its order
    recorder.release_first.set()
    return await asyncio.gather(first, *rest, return_exceptions=True)


def test_an_order_alone_is_scored_at_once_in_a_batch_of_one() -> None:
    recorder = Recorder()
    assert asyncio.run(Coalescer(recorder, max_batch=8).submit(21)) == 42
    assert recorder.batches == [[21]]


def test_orders_queued_during_a_batch_form_the_next_one_and_each_gets_its_own_answer() -> None:
    recorder = Recorder()
    answers = asyncio.run(_held_then_queued(Coalescer(recorder, max_batch=8), recorder, [1, 2, 3, 4]))
    assert answers == [0, 2, 4, 6, 8]
    assert recorder.batches == [[0], [1, 2, 3, 4]]


def test_a_batch_never_exceeds_its_bound() -> None:
    recorder = Recorder()
    answers = asyncio.run(_held_then_queued(Coalescer(recorder, max_batch=3), recorder, list(range(1, 8))))
    assert answers == [item * 2 for item in range(8)]
    assert recorder.batches == [[0], [1, 2, 3], [4, 5, 6], [7]]


def test_a_failing_order_fails_alone() -> None:
    recorder = Recorder()
    answers = asyncio.run(_held_then_queued(Coalescer(recorder, max_batch=8), recorder, [1, -1, 3]))
    assert answers[:2] == [0, 2] and answers[3] == 6
    assert isinstance(answers[2], ValueError) and "negative" in str(answers[2])
    assert recorder.batches[1] == [1, -1, 3]  # tried together first, then one by one
    assert sorted(map(tuple, recorder.batches[2:])) == [(-1,), (1,), (3,)]


def test_a_caller_gone_before_its_batch_is_not_scored() -> None:
    recorder = Recorder()

    async def scenario() -> list:
        coalescer = Coalescer(recorder, max_batch=8)
        recorder.release_first.clear()
        first = asyncio.create_task(coalescer.submit(0))
        await asyncio.to_thread(recorder.first_started.wait, 5)
        gone = asyncio.create_task(coalescer.submit(5))
        kept = asyncio.create_task(coalescer.submit(6))
        await asyncio.sleep(0.05)
        gone.cancel()
        recorder.release_first.set()
        return await asyncio.gather(first, kept)

    assert asyncio.run(scenario()) == [0, 12]
    assert recorder.batches == [[0], [6]]


def test_the_bound_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Coalescer(Recorder(), max_batch=0)
