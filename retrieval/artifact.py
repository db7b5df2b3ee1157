"""The versioned index artifact: written by the indexer, verified and loaded by the service.

Layout under the artifact location (``HUASHU_INDEX_DIR``)::

    CURRENT                      name of the version being served (replaced atomically)
    versions/<version>/
        manifest.json            model id/fingerprint/dimension, counts, index type, checksums
        vectors.faiss            FAISS index over the searchable texts
        rows.json                row → entry id (which script or FAQ entry a vector belongs to)
        entries.json             the servable scripts and FAQ entries, compliance and escalation rules
        classifiers.pkl          intent and emotion classifiers trained at build time

A version is published by writing it under a temporary name, fsyncing, renaming it into place and
only then replacing ``CURRENT``; a crash at any point leaves the previous version serving.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
from pydantic import BaseModel, ValidationError

FORMAT_VERSION = 2  # 2: classifiers keep their linear maps, not scikit-learn objects
CURRENT = "CURRENT"
VERSIONS = "versions"
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
ROWS = "rows.json"
ENTRIES = "entries.json"
CLASSIFIERS = "classifiers.pkl"
PUBLISH_LOCK = ".publish.lock"
KEEP_VERSIONS = 3
ABANDONED_BUILD_SECONDS = 3600  # a staging directory this old belongs to a build that died


class ArtifactError(RuntimeError):
    """An artifact is missing, corrupt, or does not match the serving model."""


class Manifest(BaseModel):
    format_version: int
    version: str
    built_at: datetime
    model_id: str
    model_fingerprint: str
    dimension: int
    item_count: int
    entry_count: int
    index_type: str
    library_hash: str
    entry_versions: dict[str, int]
    files: dict[str, str]
    training: dict[str, Any] = {}
    classifiers_from: str | None = None  # set when classifiers were reused from that version


@dataclass
class ArtifactContents:
    """What the indexer hands over for publishing."""

    index: faiss.Index
    rows: list[str]
    entries: dict[str, Any]
    classifiers: Any
    manifest: dict[str, Any]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def new_version_name(library_hash: str) -> str:
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{library_hash[:8]}"


@contextmanager
def publishing(index_dir: Path) -> Iterator[None]:
    """Exclusive right to switch ``CURRENT`` under ``index_dir``, across processes (the studio's quick publish
    and a retraining process never interleave)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / PUBLISH_LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def publish(
    index_dir: Path, contents: ArtifactContents, still_wanted: Callable[[], bool] | None = None
) -> Manifest | None:
    """Write a new version and switch ``CURRENT`` to it atomically.

    ``still_wanted`` is asked under the publishing lock, just before the switch; when it answers no (the
    library changed while this version was being built), nothing is published and None is returned.
    """
    versions = index_dir / VERSIONS
    with publishing(index_dir):
        if still_wanted is not None and not still_wanted():
            return None
        versions.mkdir(parents=True, exist_ok=True)
        manifest = _write_version(versions, contents)
        set_current(index_dir, manifest.version)
    prune(index_dir, keep=KEEP_VERSIONS)
    return manifest


def _write_version(versions: Path, contents: ArtifactContents) -> Manifest:
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=versions))
    try:
        faiss.write_index(contents.index, str(staging / VECTORS))
        _write_file(staging / ROWS, json.dumps(contents.rows, ensure_ascii=False).encode())
        _write_file(staging / ENTRIES, json.dumps(contents.entries, ensure_ascii=False, default=str).encode())
        _write_file(staging / CLASSIFIERS, pickle.dumps(contents.classifiers, protocol=pickle.HIGHEST_PROTOCOL))
        files = {name: sha256_file(staging / name) for name in (VECTORS, ROWS, ENTRIES, CLASSIFIERS)}
        manifest = Manifest(**contents.manifest, files=files, format_version=FORMAT_VERSION)
        _write_file(staging / MANIFEST, manifest.model_dump_json(indent=2).encode())
        _fsync_dir(staging)
        os.replace(staging, versions / manifest.version)
        _fsync_dir(versions)
        return manifest
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def set_current(index_dir: Path, version: str) -> None:
    """Point ``CURRENT`` at ``version`` (atomic rename), e.g. to publish or roll back."""
    if not (index_dir / VERSIONS / version / MANIFEST).is_file():
        raise ArtifactError(f"version {version} does not exist under {index_dir / VERSIONS}")
    tmp = index_dir / f".{CURRENT}.tmp"
    _write_file(tmp, version.encode())
    os.replace(tmp, index_dir / CURRENT)
    _fsync_dir(index_dir)


def current_version(index_dir: Path) -> str | None:
    try:
        return (index_dir / CURRENT).read_text().strip() or None
    except FileNotFoundError:
        return None


def read_manifest(version_dir: Path) -> Manifest:
    try:
        return Manifest.model_validate_json((version_dir / MANIFEST).read_bytes())
    except FileNotFoundError as exc:
        raise ArtifactError(f"{version_dir}: manifest.json is missing") from exc
    except ValidationError as exc:
        raise ArtifactError(f"{version_dir}: manifest.json is invalid ({exc.error_count()} errors)") from exc


def current_manifest(index_dir: Path) -> Manifest | None:
    version = current_version(index_dir)
    return read_manifest(index_dir / VERSIONS / version) if version else None


def prune(index_dir: Path, keep: int) -> None:
    """Delete old versions, always keeping the current one and the ``keep`` newest, and the staging
    directories of builds that were killed (untouched for ``ABANDONED_BUILD_SECONDS``)."""
    current = current_version(index_dir)
    entries = [p for p in (index_dir / VERSIONS).iterdir() if p.is_dir()]
    versions = sorted(p for p in entries if not p.name.startswith("."))
    abandoned = [p for p in entries if p.name.startswith(".build-") and _idle_seconds(p) > ABANDONED_BUILD_SECONDS]
    for path in [*versions[:-keep], *abandoned]:
        if path.name != current:
            shutil.rmtree(path, ignore_errors=True)


def _idle_seconds(path: Path) -> float:
    newest = max((f.stat().st_mtime for f in path.iterdir()), default=path.stat().st_mtime)
    return time.time() - max(newest, path.stat().st_mtime)


@dataclass
class LoadedArtifact:
    manifest: Manifest
    index: faiss.Index
    rows: list[str]
    entries: dict[str, Any]
    classifiers: Any


def load_artifact(
    index_dir: Path, model_fingerprint: str, dimension: int, version: str | None = None
) -> LoadedArtifact:
    """Load and verify a version (default: ``CURRENT``); raise ``ArtifactError`` on any mismatch."""
    version = version or current_version(index_dir)
    if version is None:
        raise ArtifactError(f"no index published under {index_dir}: run `python -m indexer build`")
    version_dir = index_dir / VERSIONS / version
    manifest = read_manifest(version_dir)
    if manifest.format_version != FORMAT_VERSION:
        raise ArtifactError(f"{version}: artifact format {manifest.format_version}, expected {FORMAT_VERSION}")
    if manifest.model_fingerprint != model_fingerprint or manifest.dimension != dimension:
        raise ArtifactError(
            f"{version} was built with model {manifest.model_id} ({manifest.model_fingerprint}, "
            f"{manifest.dimension}-d) but the service runs {model_fingerprint} ({dimension}-d): rebuild the index"
        )
    for name, expected in manifest.files.items():
        path = version_dir / name
        if not path.is_file() or sha256_file(path) != expected:
            raise ArtifactError(f"{version}: {name} is missing or its checksum does not match; rebuild the index")
    try:
        index = faiss.read_index(str(version_dir / VECTORS))
        rows = json.loads((version_dir / ROWS).read_bytes())
        entries = json.loads((version_dir / ENTRIES).read_bytes())
        classifiers = pickle.loads((version_dir / CLASSIFIERS).read_bytes())  # checksum verified above
    except Exception as exc:  # faiss, json and unpickling each fail their own way on a damaged file
        reason = f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        raise ArtifactError(f"{version}: cannot be read ({reason}); rebuild the index") from exc
    if not isinstance(rows, list) or index.ntotal != manifest.item_count or index.d != dimension:
        raise ArtifactError(f"{version}: index holds {index.ntotal}×{index.d}, manifest says {manifest.item_count}")
    if len(rows) != index.ntotal:
        raise ArtifactError(f"{version}: {len(rows)} rows for {index.ntotal} vectors; rebuild the index")
    return LoadedArtifact(manifest, index, rows, entries, classifiers)
