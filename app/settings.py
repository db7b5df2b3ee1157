"""Service settings: the domain settings (``retrieval.settings``) plus what only the HTTP service needs —
bind address, workers, API keys, database, limits. One class, read from ``HUASHU_*`` environment
variables (or a ``.env`` file)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from app.auth import ApiKey
from retrieval.settings import VAR_DIR, RetrievalSettings


class Settings(RetrievalSettings):
    """Everything a deployment may change. Paths default to the git-ignored ``var/`` folder of the working
    directory; the Docker image sets them all explicitly."""

    data_dir: Path = Field(VAR_DIR / "data", description="feedback database (SQLite) lives here")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite under data_dir")
    api_keys: list[ApiKey] = Field(default_factory=list, description="JSON list of {name, role, sha256}")
    cors_origins: list[str] = Field(default_factory=list, description="origins of the agent console plugin")
    prior_refresh_seconds: float = Field(30.0, gt=0, description="how often ranking priors are re-read")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes (`python -m app`)")
    index_poll_seconds: float = Field(0.0, ge=0, description="poll CURRENT and hot-swap new versions (0 = off)")
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="largest request body accepted (413 above)")
    rate_limit_per_minute: int = Field(
        12_000, ge=0, description="requests a minute per API key and worker process (0 = off); 429 above"
    )
    rate_limit_burst: int = Field(600, ge=1, description="requests a key may make back to back before its limit")
    agent_rate_limit_per_minute: int = Field(
        120, ge=0, description="requests a minute per agent (X-Agent-Id) of a key, per worker process (0 = off)"
    )
    agent_rate_limit_burst: int = Field(30, ge=1, description="requests an agent may make back to back")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    build_index_on_startup: bool = Field(True, description="build the index at startup when none exists")
    retrain_after_publish: bool = Field(
        True, description="after a studio publish (classifiers reused), retrain them in a low-priority process"
    )

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'huashu.sqlite'}"
