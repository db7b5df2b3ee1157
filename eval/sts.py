"""Embedding sanity check: cosine Spearman on Chinese sentence-pair sets vs published C-MTEB figures."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from eval.data_sources import read_pairs
from retrieval.encoder import Encoder


def sts_spearman(encoder: Encoder, name: str, limit: int | None = None) -> float:
    """Cosine-similarity Spearman ×100 of ``encoder`` on the first ``limit`` pairs of set ``name``."""
    pairs = read_pairs(name, limit)
    left = encoder.encode([p.a for p in pairs], batch_size=64)
    right = encoder.encode([p.b for p in pairs], batch_size=64)
    cosine = (left * right).sum(axis=1)
    return float(spearmanr(cosine, np.array([p.score for p in pairs])).statistic * 100)
