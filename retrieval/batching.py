"""Dynamic micro-batching of concurrent encoder calls, as inference servers (Triton, TEI) do.

Requests run in threads; each asks for its message's embedding. While the encoder is busy with one batch,
the calls that arrive wait in a queue; when it is free, the next caller takes everything queued (up to
``max_batch`` texts) as one batch. A lone request is encoded at once, with no wait. Under load — when the last
batch held more than one request — the caller that starts a batch first waits up to ``window_ms`` for
more to join. Each caller gets its own vectors back, in order; the vectors are the encoder's own.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.encoder import Encoder


@dataclass
class _Job:
    texts: list[str]
    vectors: np.ndarray | None = None
    error: BaseException | None = None
    done: bool = False


class BatchingEncoder:
    """An ``Encoder`` that merges concurrent single-message calls into batches of the wrapped encoder."""

    def __init__(self, encoder: Encoder, max_batch: int = 16, window_ms: float = 1.0) -> None:
        self.model_id, self.fingerprint, self.dimension = encoder.model_id, encoder.fingerprint, encoder.dimension
        self.max_batch = max_batch
        self.window_s = window_ms / 1000
        self._encoder = encoder
        self._pending: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._leader = False
        self._last_batch_jobs = 0
        self.batches = 0  # how many encoder calls were made, and for how many texts (for benchmarks)
        self.texts = 0

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        if len(texts) > self.max_batch:  # a bulk call (indexing, evaluation) goes straight through
            return self._encoder.encode(texts, batch_size)
        job = _Job(list(texts))
        with self._cond:
            self._pending.append(job)
            while not job.done and self._leader:
                self._cond.wait()
            if job.done:
                return self._result(job)
            self._leader = True
        self._lead(job)
        return self._result(job)

    @staticmethod
    def _result(job: _Job) -> np.ndarray:
        if job.error is not None:
            raise job.error
        assert job.vectors is not None
        return job.vectors

    def _lead(self, own: _Job) -> None:
        """Encode batches until this caller's own job is done, then hand the lead to a waiting caller."""
        try:
            while True:
                if self._last_batch_jobs > 1 and self.window_s:
                    self._wait_for_company()
                with self._cond:
                    batch = self._take()
                self._run(batch)
                if own.done:
                    return
        finally:
            with self._cond:
                self._leader = False
                self._cond.notify_all()

    def _wait_for_company(self) -> None:
        deadline = time.monotonic() + self.window_s
        while time.monotonic() < deadline:
            with self._cond:
                if sum(len(job.texts) for job in self._pending) >= self.max_batch:
                    return
            time.sleep(0.0002)

    def _take(self) -> list[_Job]:
        batch, size = [], 0
        while self._pending and (not batch or size + len(self._pending[0].texts) <= self.max_batch):
            job = self._pending.popleft()
            batch.append(job)
            size += len(job.texts)
        return batch

    def _run(self, batch: list[_Job]) -> None:
        texts = [text for job in batch for text in job.texts]
        try:
            vectors = self._encoder.encode(texts, batch_size=max(len(texts), 1))
        except BaseException as exc:  # every waiting caller must hear of it, not hang
            vectors, error = None, exc
        else:
            error = None
        with self._cond:
            start = 0
            for job in batch:
                if vectors is not None:
                    job.vectors = vectors[start : start + len(job.texts)]
                job.error, job.done = error, True
                start += len(job.texts)
            self._last_batch_jobs = len(batch)
            self.batches += 1
            self.texts += len(texts)
            self._cond.notify_all()
