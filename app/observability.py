"""Prometheus metrics and structured JSON logs (request ids, never raw customer text)."""

from __future__ import annotations

import copy
import logging
import time
from logging.handlers import QueueHandler, QueueListener
from queue import SimpleQueue

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """One registry per app (no module-level global state)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "huashu_http_requests_total", "HTTP requests", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "huashu_http_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.feedback = Counter("huashu_feedback_total", "agent feedback", ["action"], registry=self.registry)
        self.pick_rate = Gauge(
            "huashu_suggestion_pick_rate",
            "share of feedback that picked or edited a suggestion",
            registry=self.registry,
        )
        self.index_version = Gauge(
            "huashu_index_info", "index version being served (value 1)", ["version"], registry=self.registry
        )
        self.model_load_seconds = Gauge(
            "huashu_model_load_seconds", "embedding model load time", registry=self.registry
        )
        self._feedback_counts: dict[str, int] = {}
        self.dropped = Counter(
            "huashu_suggestions_dropped_total", "suggestions dropped by the compliance re-check", registry=self.registry
        )

    def set_index_version(self, version: str) -> None:
        self.index_version.clear()
        self.index_version.labels(version=version).set(1)

    def observe_feedback(self, action: str) -> None:
        self.feedback.labels(action=action).inc()
        self._feedback_counts[action] = self._feedback_counts.get(action, 0) + 1
        total = sum(self._feedback_counts.values())
        good = self._feedback_counts.get("picked", 0) + self._feedback_counts.get("edited", 0)
        self.pick_rate.set(good / total)


class RequestMetrics:
    """ASGI middleware timing every request by its route template (not its raw path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(route=route, method=scope["method"], status=str(status)).inc()
            self.metrics.latency.labels(route=route).observe(time.perf_counter() - started)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; ``extra={"fields": {...}}`` adds structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(getattr(record, "fields", {}))
        exception = getattr(record, "exception", None) or (record.exc_info[0] if record.exc_info else None)
        if exception:
            payload["exception"] = exception if isinstance(exception, str) else exception.__name__
        return orjson.dumps(payload).decode()


class _Enqueue(QueueHandler):
    """Hands records to the writer thread as they are: only the exception's class travels (no traceback text,
    which may quote a customer's message)."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record = copy.copy(record)
        record.msg, record.args = record.getMessage(), None
        if record.exc_info:
            record.exception = record.exc_info[0].__name__ if record.exc_info[0] else "unknown"
        record.exc_info = record.exc_text = None
        return record


def configure_logging(level: str) -> QueueListener:
    """JSON lines on stderr, formatted and written by a background thread, so no request waits on them.

    Start the returned listener for the app's lifetime and stop it at shutdown (it flushes what is queued)."""
    records: SimpleQueue[logging.LogRecord] = SimpleQueue()
    writer = logging.StreamHandler()
    writer.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [_Enqueue(records)]
    root.setLevel(level)
    return QueueListener(records, writer)
