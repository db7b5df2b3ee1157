"""Per-key rate limit: a token bucket per API key, refilled continuously.

Each key may make ``per_minute`` requests a minute on average and up to ``burst`` back to back.
A key over its limit gets 429 ``rate_limited`` with ``Retry-After`` (whole seconds until one token
is back). The buckets live in process memory, so the limit holds **per worker process**: with N
uvicorn workers a key may reach up to N × ``per_minute`` in total. That is enough to stop a runaway
console or script from starving everyone else; a shared limit would need a shared store (Redis).

Only authenticated keys are limited: the set of buckets is bounded by the configured keys. With no
keys configured the service is loopback-only and trusts every caller, so nothing is limited.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.errors import ApiError


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Thread-safe token buckets keyed by API key name (routes run in a thread pool)."""

    def __init__(self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_minute / 60
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.per_second > 0

    def seconds_until_allowed(self, key: str) -> float:
        """Take one token for ``key``; 0 when the request may go ahead, else seconds to wait."""
        if not self.enabled:
            return 0.0
        now = self._clock()
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket(tokens=self.burst, updated=now))
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.per_second)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self.per_second

    def check(self, key: str) -> None:
        """Raise 429 with ``Retry-After`` when ``key`` has used up its bucket."""
        wait = self.seconds_until_allowed(key)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(
                429,
                "rate_limited",
                f"this API key is over its limit of {round(self.per_second * 60)} requests a minute; "
                f"retry after {retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )
