"""Rate limits per API key and per agent: token buckets, refilled continuously.

A console plugin is usually deployed with one API key for a whole team, each agent identified by the
``X-Agent-Id`` header it sends. So two limits apply: each agent (key + agent id) may make ``agent_per_minute``
requests a minute on average and ``agent_burst`` back to back, which stops one runaway client; and the key
as a whole ``per_minute`` / ``burst``, which caps a team (and anyone rotating agent ids). Over a limit → 429
``rate_limited`` with ``Retry-After`` (whole seconds until a token is back) and a message naming the limit.

The defaults fit a team of 200 agents on one key: at a 双11 peak an agent handles about 12 customer
messages a minute, each a suggest and a feedback (24 requests); an agent may make 120 a minute (burst 30),
the key 12,000 (200 × 24 with 2.5× headroom, burst 600). Buckets live in process memory, so the limits hold
per worker process: with N workers a key may reach up to N × its limit. Only authenticated keys are
limited; with no keys configured the service is loopback-only and trusts every caller.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from app.errors import ApiError

MAX_BUCKETS = 50_000  # agent ids come from a header: old buckets are forgotten first


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Thread-safe token buckets keyed by a string (an API key's name, or key and agent id)."""

    def __init__(self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_minute / 60
        self.burst = burst
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
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
            bucket = self._buckets.get(key) or _Bucket(tokens=self.burst, updated=now)
            self._buckets[key] = bucket
            self._buckets.move_to_end(key)
            if len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.per_second)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self.per_second


class RateLimits:
    """The per-agent and the per-key limit, checked together."""

    def __init__(self, per_key: RateLimiter, per_agent: RateLimiter) -> None:
        self.per_key, self.per_agent = per_key, per_agent

    def check(self, key: str, agent: str | None = None) -> None:
        """Raise 429 with ``Retry-After`` when the agent or the key has used up its bucket."""
        if agent:
            wait = self.per_agent.seconds_until_allowed(f"{key}\x00{agent}")
            if wait > 0:
                raise _limited(
                    wait, f"agent {agent} is over its limit of {_per_minute(self.per_agent)} requests a minute"
                )
        wait = self.per_key.seconds_until_allowed(key)
        if wait > 0:
            raise _limited(wait, f"this API key is over its limit of {_per_minute(self.per_key)} requests a minute")


def _per_minute(limiter: RateLimiter) -> int:
    return round(limiter.per_second * 60)


def _limited(wait: float, what: str) -> ApiError:
    retry_after = max(1, math.ceil(wait))
    return ApiError(
        429, "rate_limited", f"{what}; retry after {retry_after} s", headers={"Retry-After": str(retry_after)}
    )
