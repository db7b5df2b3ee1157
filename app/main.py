"""The FastAPI application: served by ``python -m app`` (``uvicorn app.main:app`` works for one process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.api import router
from app.errors import install_error_handlers
from app.middleware import BodySizeLimit, SecurityHeaders
from app.observability import Metrics, RequestMetrics, configure_logging
from app.ratelimit import RateLimiter, RateLimits
from app.service import Service
from app.settings import Settings
from app.studio import install_studio
from retrieval.encoder import Encoder


def create_app(settings: Settings | None = None, encoder: Encoder | None = None) -> FastAPI:
    """The application; ``encoder`` hands over a loaded model (tests share one instead of reloading it)."""
    settings = settings or Settings()
    log_writer = configure_logging(settings.log_level)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log_writer.start()
        try:
            service = Service.start(settings, metrics, encoder)
            app.state.service = service
            yield
            service.stop()
        finally:
            log_writer.stop()  # writes what is still queued

    app = FastAPI(
        title="话术助手 Reply Assistant API",
        version="1.0.0",
        summary="Intent, emotion, escalation and compliant reply suggestions for e-commerce customer service.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.rate_limiter = RateLimits(
        RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
        RateLimiter(settings.agent_rate_limit_per_minute, settings.agent_rate_limit_burst),
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key"],
        )
    app.include_router(router)
    install_studio(app, settings)
    app.add_middleware(RequestMetrics, metrics=metrics)
    return app


app = create_app()
