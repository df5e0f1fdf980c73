"""How many BLAS threads one sentiment model call may use, for the service and the score command alike.

One. On this project's 2 shared cores one thread was faster than two for every batch size measured (the encoder at a
load average of ~5: 43 vs 10 texts/s one by one, 48 vs 29 texts/s in batches of 100; bench/sentiment_serving.py:
38 vs 7 texts/s in batches of 100): the second thread mostly spins waiting for a core.
"""

from __future__ import annotations

from threadpoolctl import threadpool_limits

MODEL_THREADS = 1


def limited_threads() -> threadpool_limits:
    """A context manager holding BLAS to ``MODEL_THREADS`` threads while it is open (process-wide for OpenBLAS).
    It looks for the BLAS libraries when called, so it sees those the model loaded."""
    return threadpool_limits(limits=MODEL_THREADS, user_api="blas")
