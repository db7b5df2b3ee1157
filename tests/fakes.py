"""Test doubles: a deterministic encoder and a small library cut from the shipped one."""

from __future__ import annotations

import shutil
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

MINI_INTENTS = ("logistics_tracking", "invoice", "greeting_thanks")


class FakeEncoder:
    """Hashes character uni- and bigrams into a small unit vector: texts sharing characters are close.

    Deterministic and instant; for tests of mechanics (indexing, ranking, workflow), never of quality.
    """

    model_id = "fake/char-ngram-hash"
    fingerprint = "fake-char-ngram-64"
    dimension = 64

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), np.float32)
        for row, text in enumerate(texts):
            grams = [*text, *(text[i : i + 2] for i in range(len(text) - 1))] or [""]
            for gram in grams:
                bucket = zlib.crc32(gram.encode()) % self.dimension
                vectors[row, bucket] += 1.0
        vectors[:, 0] += 1e-3  # an empty text still has a direction
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def copy_library(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.py", "__pycache__", "*.md"))
    return target


def shrink_library(root: Path, intents: Sequence[str] = MINI_INTENTS, examples: int = 8) -> Path:
    """Keep only ``intents`` (their scripts and FAQ files) and ``examples`` examples per intent and emotion."""
    for kind in ("scripts", "faq"):
        for path in (root / kind).glob("*.yaml"):
            if path.stem not in intents:
                path.unlink()
    for name, key in (("intents.yaml", "intents"), ("emotions.yaml", "emotions")):
        path = root / name
        data = yaml.safe_load(path.read_text("utf-8"))
        kept = [item for item in data[key] if key == "emotions" or item["id"] in intents]
        for item in kept:
            item["examples"] = item["examples"][:examples]
        data[key] = kept
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return root


class RecordingAudit:
    """An audit sink that keeps what it is given, in order."""

    def __init__(self) -> None:
        self.records: list = []

    def record_audit(self, record) -> int:
        self.records.append(record)
        return len(self.records)
