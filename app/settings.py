"""Service settings: one class, read from ``HUASHU_*`` environment variables (or a ``.env`` file)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.auth import ApiKey

PROJECT_ROOT = Path(__file__).resolve().parents[1]
VAR_DIR = PROJECT_ROOT / "var"

EncoderBackend = Literal["onnx-int8", "onnx", "torch"]


class RankingWeights(BaseModel):
    """Weights of the transparent suggestion scorer (features each in [0, 1]); tuned on the dev set."""

    semantic: float = 0.50
    lexical: float = 0.20
    intent: float = 0.20
    emotion: float = 0.05
    platform: float = 0.15
    prior: float = 0.02
    entry: float = 0.30


class ClassifierSettings(BaseModel):
    """Thresholds applied on top of the calibrated classifiers."""

    other_below: float = Field(0.25, description="below this top-intent confidence the intent is `other`")
    angry_at: float = Field(0.22, description="emotion is `angry` when its probability reaches this")
    emotion_traffic_share: dict[str, float] = Field(
        default_factory=lambda: {
            "neutral": 0.45,
            "angry": 0.14,
            "anxious": 0.15,
            "dissatisfied": 0.15,
            "positive": 0.11,
        },
        description="expected share of each emotion in live traffic (training data is balanced)",
    )
    prior_strength: float = Field(1.0, ge=0, le=1, description="how far to shift emotions toward that share")
    alternative_min: float = Field(0.08, description="smallest confidence listed as an alternative intent")
    history_turns: int = Field(2, ge=0, le=6, description="customer turns of history used for context")
    entry_intent_weight: float = Field(
        0.3, ge=0, le=1, description="exponent of the entry classifier's per-intent opinion in the intent (0 = off)"
    )


class Settings(BaseSettings):
    """Everything a deployment may change. Paths default to the git-ignored ``var/`` folder."""

    model_config = SettingsConfigDict(env_prefix="HUASHU_", env_file=".env", env_nested_delimiter="__", extra="ignore")

    model_dir: Path = Field(
        VAR_DIR / "models" / "multilingual-e5-small",
        description="local sentence-transformers directory of the embedding model",
    )
    encoder_backend: EncoderBackend = Field(
        "onnx-int8", description="onnx-int8 (fastest), onnx (fp32) or torch (sentence-transformers fp32)"
    )
    max_seq_length: int = Field(128, ge=8, le=512, description="tokens kept per text when embedding")
    query_prefix: str = Field("query: ", description="e5 prefix for customer messages and matching")
    library_dir: Path = Field(PROJECT_ROOT / "scripts_library", description="the scripts library (话术库)")
    index_dir: Path = Field(VAR_DIR / "index", description="where index artifacts are published")
    cache_dir: Path = Field(VAR_DIR / "cache", description="embedding cache used by the indexer")
    message_cache_size: int = Field(4096, ge=0, description="LRU entries of recent message embeddings")
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
        600, ge=0, description="requests a minute per API key and worker process (0 = off); 429 above"
    )
    rate_limit_burst: int = Field(60, ge=1, description="requests a key may make back to back before the limit")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    ranking: RankingWeights = RankingWeights()
    classifier: ClassifierSettings = ClassifierSettings()
    encoder_threads: int = Field(0, ge=0, description="ONNX Runtime threads per process (0 = all cores)")
    search_threads: int = Field(
        1, ge=0, description="FAISS threads per process (0 = all cores); one query per worker needs one"
    )
    build_index_on_startup: bool = Field(True, description="build the index at startup when none exists")
    retrain_after_publish: bool = Field(
        True, description="after a studio publish (classifiers reused), retrain them in the background"
    )

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'huashu.sqlite'}"
