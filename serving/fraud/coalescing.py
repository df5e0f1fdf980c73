"""Single-order requests scored together: the orders that arrive while a batch is being scored form the next batch.

Why not BentoML's adaptive batching (``@bentoml.api(batchable=True)``): a batchable route takes the batch itself as
its HTTP body, so ``POST /score`` would change contract, and reaching it from ``/score`` goes through BentoML's
in-process HTTP client, a second request per order. Here an order waits for no timer: alone, it is scored at once
(a batch of one); under load, one Redis round trip and one model call serve every order that queued meanwhile.

The blocking batch function (Redis, PostgreSQL, the model) runs in a thread, never on the event loop; one batch at
a time per worker. If a batch fails, its orders are retried one by one, so only the failing order gets the error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
Item = TypeVar("Item")
Result = TypeVar("Result")


class Coalescer(Generic[Item, Result]):
    """``await submit(item)`` answers ``score_batch([..., item, ...])[its position]``."""

    def __init__(self, score_batch: Callable[[list[Item]], list[Result]], max_batch: int) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.score_batch = score_batch
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[Item, asyncio.Future[Result]]] | None = None
        self._consumer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        if self._queue is None:  # made in the loop that serves: the worker builds the service before it runs one
            self._queue = asyncio.Queue()
            self._consumer = asyncio.create_task(self._consume(self._queue))
        answer: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, answer))
        return await answer

    async def close(self) -> None:
        if self._consumer is not None:
            self._consumer.cancel()

    async def _consume(self, queue: asyncio.Queue[tuple[Item, asyncio.Future[Result]]]) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < self.max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            waiting = [(item, answer) for item, answer in batch if not answer.done()]  # callers gone are skipped
            if waiting:
                await self._answer(waiting)

    async def _answer(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        try:
            results = await asyncio.to_thread(self.score_batch, [item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"scoring {len(batch)} orders gave {len(results)} results")
        except Exception as error:
            if len(batch) == 1:
                _settle(batch[0][1], error=error)
                return
            log.warning("a batch of %d orders failed (%s): scoring them one by one", len(batch), error)
            for one in batch:
                await self._answer([one])
            return
        for (_, answer), result in zip(batch, results, strict=True):  # lengths checked above
            _settle(answer, result=result)


def _settle(answer: asyncio.Future, *, result: object = None, error: BaseException | None = None) -> None:
    if answer.done():  # the caller went away (client disconnected, timeout) while its batch was scored
        return
    if error is not None:
        answer.set_exception(error)
    else:
        answer.set_result(result)
