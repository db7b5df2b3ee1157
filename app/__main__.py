"""Run the service: ``python -m app`` (host, port and workers from ``HUASHU_*`` settings)."""

from __future__ import annotations

import ipaddress
import logging

from app.settings import Settings
from app.workers import ServiceConfig, serve

log = logging.getLogger("huashu")


def bind_host(settings: Settings) -> str:
    """Without API keys the service is unauthenticated, so it only ever listens on loopback."""
    if settings.api_keys:
        return settings.host
    try:
        loopback = settings.host == "localhost" or ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        log.warning("no API keys configured (HUASHU_API_KEYS): binding 127.0.0.1 instead of %s", settings.host)
        return "127.0.0.1"
    return settings.host


def main() -> None:
    settings = Settings()
    logging.basicConfig(level=settings.log_level)
    config = ServiceConfig(
        "app.main:app",
        host=bind_host(settings),
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level.lower(),
        access_log=False,
    )
    serve(config)


if __name__ == "__main__":
    main()
