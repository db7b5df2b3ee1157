"""Micro-batching of concurrent encoder calls: same vectors, merged calls, no wait for a lone request."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from retrieval.batching import BatchingEncoder
from tests.fakes import FakeEncoder

MESSAGES = ["快递到哪了", "发票怎么开 谢谢", "退款什么时候到账？？", "在吗", "衣服大了能换小一码吗", "你们卖假货"] * 4


class SlowEncoder(FakeEncoder):
    """Takes 20 ms a call, like a busy model, and records the batches it was given."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def encode(self, texts, batch_size: int = 32) -> np.ndarray:
        self.calls.append(len(texts))
        time.sleep(0.02)
        if "boom" in texts:
            raise RuntimeError("encoder failed")
        return super().encode(texts, batch_size)


def _concurrently(encoder, texts: list[str]) -> list[np.ndarray]:
    with ThreadPoolExecutor(max_workers=len(texts)) as pool:
        return list(pool.map(lambda t: encoder.encode([t])[0], texts))


def test_the_real_model_gives_the_same_vectors_batched_or_not(encoder):
    """The served int8 model quantises activations per token, so a message's vector does not depend on the
    messages it is batched with (per-tensor dynamic quantisation would change it)."""
    alone = np.vstack([encoder.encode([m]) for m in MESSAGES])
    batched = _concurrently(BatchingEncoder(encoder, max_batch=8, window_ms=2.0), MESSAGES)
    np.testing.assert_allclose(np.vstack(batched), alone, rtol=0, atol=1e-6)
    np.testing.assert_allclose(encoder.encode(MESSAGES, batch_size=16), alone, rtol=0, atol=1e-6)


def test_concurrent_calls_share_encoder_calls_and_each_gets_its_own_vector():
    slow = SlowEncoder()
    batching = BatchingEncoder(slow, max_batch=8, window_ms=0)
    vectors = _concurrently(batching, MESSAGES)
    expected = FakeEncoder().encode(MESSAGES)
    np.testing.assert_allclose(np.vstack(vectors), expected)
    assert max(slow.calls) > 1 and len(slow.calls) < len(MESSAGES) and max(slow.calls) <= 8


def test_a_lone_request_is_encoded_at_once():
    slow = SlowEncoder()
    batching = BatchingEncoder(slow, max_batch=16, window_ms=2.0)
    started = time.perf_counter()
    batching.encode(["快递到哪了"])
    assert slow.calls == [1] and time.perf_counter() - started < 0.02 + 0.015


def test_a_failed_batch_fails_every_caller_in_it_and_the_next_batch_works():
    slow = SlowEncoder()
    batching = BatchingEncoder(slow, max_batch=8, window_ms=0)
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def call(text: str) -> None:
        start.wait()
        try:
            batching.encode([text])
        except RuntimeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(t,)) for t in ("boom", "快递", "发票")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=5)
    assert errors and all(str(e) == "encoder failed" for e in errors)
    assert batching.encode(["退款"]).shape == (1, FakeEncoder.dimension)


@pytest.mark.parametrize("size", [1, 17])
def test_bulk_calls_go_straight_through(size):
    slow = SlowEncoder()
    BatchingEncoder(slow, max_batch=16).encode(["发票"] * size)
    assert slow.calls == [size]
