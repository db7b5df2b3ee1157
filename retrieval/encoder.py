"""Sentence encoders: text in, L2-normalised float32 vectors out.

Two interchangeable backends read the same provisioned model directory:
``SentenceTransformerEncoder`` (reference fp32, sentence-transformers on torch) and ``OnnxEncoder``
(ONNX Runtime, fp32 or int8, the fast serving path). Both add the e5 prefix themselves, so callers
pass raw (normalised) text and the index and the queries always agree.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from retrieval.artifact import sha256_file
from retrieval.model import ONNX_FP32, ONNX_INT8, PROVENANCE_FILE
from retrieval.settings import RetrievalSettings


class EncoderLoadError(RuntimeError):
    """The configured model directory is missing or incomplete."""


class Encoder(Protocol):
    """What the indexer and the service need from an embedding model."""

    model_id: str
    fingerprint: str
    dimension: int

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embed texts into an (n, dimension) float32 array of unit vectors."""
        ...


SERVED_FILES = {
    "torch": ("config.json", "model.safetensors", "pytorch_model.bin", "tokenizer.json"),
    "onnx": ("config.json", ONNX_FP32, "tokenizer.json"),
    "onnx-int8": ("config.json", ONNX_INT8, "tokenizer.json"),
}


@lru_cache(maxsize=16)
def _file_digest(path: Path, size: int, mtime_ns: int) -> str:
    """SHA-256 of a file's contents; (size, mtime) in the key re-hashes a file replaced in place."""
    return sha256_file(path)


def model_identity(model_dir: Path, backend: str, prefix: str = "", max_seq_length: int = 0) -> tuple[str, str]:
    """A readable model id and a fingerprint of what is served: the contents of the weights file this
    backend runs, the tokenizer and config, and the settings that change the vectors (prefix, length)."""
    config = model_dir / "config.json"
    if not config.is_file():
        raise EncoderLoadError(
            f"no model at {model_dir}: run `python -m retrieval.model install` "
            "or point HUASHU_MODEL_DIR at a local sentence-transformers directory"
        )
    provenance = model_dir / PROVENANCE_FILE
    model_id = json.loads(provenance.read_text())["model_id"] if provenance.is_file() else model_dir.name
    digest = hashlib.sha256(f"{backend}|{prefix}|{max_seq_length}".encode())
    for name in SERVED_FILES.get(backend, ()):
        path = model_dir / name
        if path.is_file():
            stat = path.stat()
            digest.update(f"{name}:{_file_digest(path.resolve(), stat.st_size, stat.st_mtime_ns)}".encode())
    return model_id, digest.hexdigest()[:16]


def _normalise_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class SentenceTransformerEncoder:
    """Reference fp32 encoder through sentence-transformers (torch)."""

    def __init__(self, model_dir: Path, prefix: str, max_seq_length: int) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.model_id, self.fingerprint = model_identity(model_dir, "torch", prefix, max_seq_length)
        self._model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        self._model.max_seq_length = max_seq_length
        self._prefix = prefix
        dimension = (
            getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        )
        self.dimension = int(dimension())

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        vectors = self._model.encode(
            [self._prefix + t for t in texts],
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)


class OnnxEncoder:
    """ONNX Runtime encoder with mean pooling; ``quantized`` selects the int8 model file."""

    def __init__(
        self, model_dir: Path, prefix: str, max_seq_length: int, quantized: bool = True, threads: int = 0
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        backend = "onnx-int8" if quantized else "onnx"
        self.model_id, self.fingerprint = model_identity(model_dir, backend, prefix, max_seq_length)
        path = model_dir / (ONNX_INT8 if quantized else ONNX_FP32)
        if not path.is_file():
            raise EncoderLoadError(f"{path} is missing: run `python -m retrieval.model install --force`")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=max_seq_length)
        self._tokenizer.enable_padding(pad_id=1, pad_token="<pad>")
        self._prefix = prefix
        self.dimension = int(self._session.get_outputs()[0].shape[-1])

    def _embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch([self._prefix + t for t in texts])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        return _normalise_rows(pooled)

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = np.argsort([len(t) for t in texts])  # similar lengths per batch: less padding
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            chunk = order[start : start + batch_size]
            out[chunk] = self._embed_batch([texts[i] for i in chunk])
        return out


def load_encoder(
    model_dir: Path, backend: str, prefix: str = "query: ", max_seq_length: int = 128, threads: int = 0
) -> Encoder:
    """Load the configured backend from a local model directory; never reaches a model hub."""
    if not (model_dir / "config.json").is_file():
        model_identity(model_dir, backend)  # raises the actionable error
    if backend == "torch":
        return SentenceTransformerEncoder(model_dir, prefix, max_seq_length)
    if backend in ("onnx", "onnx-int8"):
        return OnnxEncoder(model_dir, prefix, max_seq_length, quantized=backend == "onnx-int8", threads=threads)
    raise EncoderLoadError(f"unknown encoder backend {backend!r}: use onnx-int8, onnx or torch")


def configured_encoder(settings: RetrievalSettings, backend: str | None = None) -> Encoder:
    """The encoder the settings describe (``backend`` overrides the configured one)."""
    return load_encoder(
        settings.model_dir,
        backend or settings.encoder_backend,
        settings.query_prefix,
        settings.max_seq_length,
        settings.encoder_threads,
    )
