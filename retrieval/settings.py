"""Domain settings: the model, where the index lives, classifier thresholds and ranking weights. Read from
``HUASHU_*`` environment variables (or ``.env``); extends the library's settings and is extended by the
service's own (``app.settings``).

Paths are relative to the working directory unless given absolute, so a checkout (``make run``) and an
installed package (the Docker image, which sets every path) both find their data; nothing points into
the installed package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from scripts_library.settings import LibrarySettings

EncoderBackend = Literal["onnx-int8", "onnx", "torch"]
VAR_DIR = Path("var")


class RankingWeights(BaseModel):
    """Weights of the transparent suggestion scorer (features each in [0, 1]); tuned on the dev set."""

    semantic: float = 0.50
    lexical: float = 0.20
    intent: float = 0.20
    emotion: float = 0.05
    platform: float = 0.15
    prior: float = 0.4  # agents' pick rate (0.5 until they rate a script): 20 consistent verdicts move it ±0.17
    entry: float = 0.30


class ClassifierSettings(BaseModel):
    """Thresholds applied on top of the calibrated classifiers. ``other_below``, ``angry_at``, the traffic
    share of angry messages, ``prior_strength``, ``segment_min`` and ``first_request_below`` were chosen by
    ``python -m eval tune``: the emotion knobs on the tuning split (eval/data/tune), the intent knobs on it and the
    boundary set (eval/data/boundaries); never on a blind set (see the README, "Choosing thresholds")."""

    other_below: float = Field(0.15, description="below this top-intent confidence the intent is `other`")
    angry_at: float = Field(0.4, description="emotion is `angry` when its probability reaches this")
    emotion_traffic_share: dict[str, float] = Field(
        default_factory=lambda: {
            "neutral": 0.45,
            "angry": 0.10,
            "anxious": 0.15,
            "dissatisfied": 0.15,
            "positive": 0.11,
        },
        description="expected share of each emotion in live traffic (training data is balanced)",
    )
    prior_strength: float = Field(0.5, ge=0, le=1, description="how far to shift emotions toward that share")
    alternative_min: float = Field(0.08, description="smallest confidence listed as an alternative intent")
    history_turns: int = Field(2, ge=0, le=6, description="customer turns of history used for context")
    entry_intent_weight: float = Field(
        0.3, ge=0, le=1, description="exponent of the entry classifier's per-intent opinion in the intent (0 = off)"
    )
    segment_min: float = Field(
        0.7, ge=0, le=1, description="a clause's own topic counts as a further request from this confidence"
    )
    first_request_below: float = Field(
        1.0, ge=0, le=1, description="a turn's first request leads when the whole turn reads as a later one less surely"
    )
    high_value_yuan: float = Field(
        500.0, gt=0, description="an order worth this much (元) makes a refund dispute high-value (escalation.yaml)"
    )
    escalation_backstop_at: float = Field(
        0.6,
        ge=0,
        le=1,
        description="where no escalation rule fires, the learned backstop escalates from this chance that the turn "
        "needs a team (1 = off); chosen by `python -m eval backstop`",
    )


class RetrievalSettings(LibrarySettings):
    """What the indexer and the request pipeline need: model, library, index and the scorer's knobs."""

    model_dir: Path = Field(
        VAR_DIR / "models" / "multilingual-e5-small",
        description="local sentence-transformers directory of the embedding model",
    )
    encoder_backend: EncoderBackend = Field(
        "onnx-int8", description="onnx-int8 (fastest), onnx (fp32) or torch (sentence-transformers fp32)"
    )
    max_seq_length: int = Field(128, ge=8, le=512, description="tokens kept per text when embedding")
    query_prefix: str = Field("query: ", description="e5 prefix for customer messages and matching")
    index_dir: Path = Field(VAR_DIR / "index", description="where index artifacts are published")
    cache_dir: Path = Field(VAR_DIR / "cache", description="embedding cache used by the indexer")
    message_cache_size: int = Field(4096, ge=0, description="LRU entries of recent message embeddings")
    encoder_threads: int = Field(
        0, ge=0, description="ONNX Runtime threads per process (0 = the service's share: cores ÷ workers)"
    )
    encoder_max_batch: int = Field(
        16, ge=1, le=256, description="most messages the service encodes in one call (1 = no micro-batching)"
    )
    encoder_batch_window_ms: float = Field(
        1.0, ge=0, le=2, description="under load, how long a batch waits for more messages to join (ms)"
    )
    search_threads: int = Field(
        1, ge=0, description="FAISS and BLAS threads per process (0 = all cores); one query per worker needs one"
    )
    ranking: RankingWeights = RankingWeights()
    classifier: ClassifierSettings = ClassifierSettings()
