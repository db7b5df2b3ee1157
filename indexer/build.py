"""Build an index artifact from the scripts library and publish it atomically."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np
from tqdm import tqdm

from indexer.cache import EmbeddingCache
from retrieval.artifact import (
    ArtifactContents,
    ArtifactError,
    Manifest,
    current_manifest,
    load_artifact,
    new_version_name,
    publish,
)
from retrieval.backstop import fit_backstop
from retrieval.classifier import EntryClassifier, HybridClassifier, dense_features
from retrieval.encoder import Encoder
from scripts_library.lint import lint_library, servable_ids
from scripts_library.loader import Library, load_library
from scripts_library.text import Rewriter, normalize

log = logging.getLogger(__name__)

EXACT_SEARCH_LIMIT = 50_000  # above this many vectors an HNSW graph replaces exact search
HNSW_NEIGHBOURS = 32
ENCODE_CHUNK = 64


@dataclass(frozen=True)
class BuildReport:
    manifest: Manifest
    seconds: float
    embedded: int
    cached: int


def make_faiss_index(vectors: np.ndarray) -> tuple[faiss.Index, str]:
    """Exact inner product (cosine on unit vectors) by default; HNSW above ``EXACT_SEARCH_LIMIT``."""
    dimension = vectors.shape[1]
    if len(vectors) <= EXACT_SEARCH_LIMIT:
        index: faiss.Index = faiss.IndexFlatIP(dimension)
        kind = "flat-ip"
    else:
        index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 64
        kind = f"hnsw{HNSW_NEIGHBOURS}-ip"
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index, kind


def _searchable_rows(library: Library, servable: set[str]) -> tuple[list[str], list[str]]:
    """Customer-side texts (script examples, FAQ questions) and the entry each belongs to."""
    texts: list[str] = []
    owners: list[str] = []
    for script in library.scripts:
        if script.id in servable:
            texts += [normalize(e, library.rewrite).text for e in script.examples]
            owners += [script.id] * len(script.examples)
    for entry in library.faqs:
        if entry.id in servable:
            texts += [normalize(q, library.rewrite).text for q in entry.questions]
            owners += [entry.id] * len(entry.questions)
    return texts, owners


CATALOGUE_WEIGHT = 2.0  # intents.yaml defines the intents; script examples and FAQ questions support it


def _intent_training(library: Library, servable: set[str]) -> tuple[list[str], list[str], list[float]]:
    rows = [(e, i.id, CATALOGUE_WEIGHT) for i in library.intents for e in i.examples]
    rows += [(e, s.primary_intent, 1.0) for s in library.scripts if s.id in servable for e in s.examples]
    rows += [(q, f.intent, 1.0) for f in library.faqs if f.id in servable for q in f.questions]
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def _train(
    texts: list[str],
    labels: list[str],
    weights: list[float] | None,
    embed: Callable[[list[str]], np.ndarray],
    classifier: HybridClassifier,
    rewrite: Rewriter,
) -> tuple[HybridClassifier, dict]:
    messages = [normalize(t, rewrite) for t in texts]
    normalised = [m.text for m in messages]
    features = dense_features(embed(normalised), messages, classifier.use_cues)
    metrics = classifier.fit(normalised, features, labels, weights)
    return classifier, metrics


def _entries_payload(library: Library, servable: set[str]) -> dict:
    return {
        "scripts": [s.model_dump(mode="json", exclude={"proposal"}) for s in library.scripts if s.id in servable],
        "faqs": [f.model_dump(mode="json", exclude={"proposal"}) for f in library.faqs if f.id in servable],
        "compliance": library.compliance.model_dump(mode="json"),
        "escalation": library.escalation.model_dump(mode="json"),
        "normalization": library.normalization.model_dump(mode="json"),
        "intents": [{"id": i.id, "name": i.name, "stage": i.stage} for i in library.intents],
        "emotions": [{"id": e.id, "name": e.name} for e in library.emotions],
    }


@dataclass(frozen=True)
class PreparedIndex:
    """An artifact ready to publish, with what it took to make it."""

    contents: ArtifactContents
    embedded: int
    cached: int


def _served_classifiers(out_dir: Path, encoder: Encoder) -> tuple[dict, Manifest] | None:
    """The classifiers of the current version, when one exists and matches this model."""
    try:
        artifact = load_artifact(out_dir, encoder.fingerprint, encoder.dimension)
    except ArtifactError:
        return None
    return artifact.classifiers, artifact.manifest


def _train_classifiers(
    library: Library, servable: set[str], embed: Callable, rows: tuple[np.ndarray, list[str]]
) -> tuple[dict, dict]:
    """Intent and emotion models from their texts; the entry model from the index's own row vectors; the
    escalation backstop from the library's labelled escalation examples, when it has them."""
    intent_model, intent_metrics = _train(
        *_intent_training(library, servable), embed, HybridClassifier(8.0, 8.0, use_cues=False), library.rewrite
    )
    emotion_texts = [e for emotion in library.emotions for e in emotion.examples]
    emotion_labels = [emotion.id for emotion in library.emotions for _ in emotion.examples]
    # Mood lives in multi-character cues (气死, 好吧, 快点): single characters only add noise.
    emotion_model, emotion_metrics = _train(
        emotion_texts, emotion_labels, None, embed, HybridClassifier(20.0, 20.0, ngram_range=(2, 3)), library.rewrite
    )
    entry_model = EntryClassifier()
    entry_metrics = entry_model.fit(*rows)
    classifiers = {"intent": intent_model, "emotion": emotion_model, "entry": entry_model}
    metrics = {"intent": intent_metrics, "emotion": emotion_metrics, "entry": entry_metrics}
    backstop = fit_backstop(library.escalation_examples, embed, library.rewrite)
    if backstop is not None:
        classifiers["escalation"], metrics["escalation"] = backstop
    return classifiers, metrics


def prepare_index(
    library_dir: Path, out_dir: Path, encoder: Encoder, cache_dir: Path, quiet: bool = False, retrain: bool = True
) -> PreparedIndex:
    """Load and lint the library, embed what is searchable and (re)train the classifiers; publish nothing.

    With ``retrain=False`` the served version's classifiers are reused when it matches the model, so a
    trainer's edit is searchable within seconds; the manifest then names that version in
    ``classifiers_from`` and ``is_stale`` reports the index stale until a full build retrains them.
    """
    library = load_library(library_dir)
    servable = servable_ids(library, lint_library(library))
    cache = EmbeddingCache(cache_dir, encoder.fingerprint, encoder.dimension)
    embedded = cached = 0

    def embed(texts: list[str]) -> np.ndarray:
        nonlocal embedded, cached

        def encode(todo: list[str]) -> np.ndarray:
            chunks = range(0, len(todo), ENCODE_CHUNK)
            bar = tqdm(chunks, desc="embedding", unit="batch", disable=quiet or len(todo) < 2 * ENCODE_CHUNK)
            return np.vstack([encoder.encode(todo[i : i + ENCODE_CHUNK]) for i in bar])

        vectors = cache.embed(texts, encode)
        embedded += cache.misses
        cached += cache.hits
        return vectors

    served = None if retrain else _served_classifiers(out_dir, encoder)
    try:
        row_texts, row_owners = _searchable_rows(library, servable)
        row_vectors = embed(row_texts)
        index, index_type = make_faiss_index(row_vectors)
        if served is None:
            classifiers, training = _train_classifiers(library, servable, embed, (row_vectors, row_owners))
            classifiers_from = None
        else:
            classifiers, previous = served
            training, classifiers_from = previous.training, previous.classifiers_from or previous.version
    finally:
        cache.close()
    entry_versions = {s.id: s.version for s in library.scripts if s.id in servable}
    entry_versions |= {f.id: f.version for f in library.faqs if f.id in servable}
    contents = ArtifactContents(
        index=index,
        rows=row_owners,
        entries=_entries_payload(library, servable),
        classifiers=classifiers,
        manifest={
            "version": new_version_name(library.content_hash),
            "built_at": datetime.now(UTC),
            "model_id": encoder.model_id,
            "model_fingerprint": encoder.fingerprint,
            "dimension": encoder.dimension,
            "item_count": index.ntotal,
            "entry_count": len(entry_versions),
            "index_type": index_type,
            "library_hash": library.content_hash,
            "entry_versions": entry_versions,
            "training": training,
            "classifiers_from": classifiers_from,
        },
    )
    return PreparedIndex(contents, embedded, cached)


def build_index(
    library_dir: Path,
    out_dir: Path,
    encoder: Encoder,
    cache_dir: Path,
    quiet: bool = False,
    retrain: bool = True,
    only_if_unchanged: bool = False,
) -> BuildReport | None:
    """Prepare an artifact from the library (see ``prepare_index``) and publish it as ``CURRENT``.

    ``only_if_unchanged``: publish only if the library files are still those the build read (a slow retrain
    must not replace the index of a newer edit); returns None when it did not publish.
    """
    started = time.perf_counter()
    prepared = prepare_index(library_dir, out_dir, encoder, cache_dir, quiet, retrain)
    built_from = prepared.contents.manifest["library_hash"]

    def unchanged() -> bool:
        return load_library(library_dir).content_hash == built_from

    manifest = publish(out_dir, prepared.contents, unchanged if only_if_unchanged else None)
    if manifest is None:
        log.info("library changed during the build: %s not published", prepared.contents.manifest["version"])
        return None
    seconds = time.perf_counter() - started
    log.info(
        "published index %s: %d vectors, %d entries in %.2f s%s",
        manifest.version,
        manifest.item_count,
        manifest.entry_count,
        seconds,
        " (classifiers reused)" if manifest.classifiers_from else "",
    )
    return BuildReport(manifest, seconds, prepared.embedded, prepared.cached)


def is_stale(library_dir: Path, out_dir: Path, fingerprint: str) -> bool:
    """True when no index exists, it was built from other library files or another model, or its
    classifiers were reused from an older version (a quick publish after a trainer's edit)."""
    try:
        manifest = current_manifest(out_dir)
    except ArtifactError:
        return True
    if manifest is None or manifest.model_fingerprint != fingerprint or manifest.classifiers_from:
        return True
    return manifest.library_hash != load_library(library_dir).content_hash
