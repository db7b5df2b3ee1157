"""Shared fixtures: the real model, a real index built once per session into a temp dir."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.settings import PROJECT_ROOT, Settings
from indexer.build import BuildReport, build_index
from retrieval.encoder import Encoder
from retrieval.pipeline import Assistant, configured_encoder, load_assistant

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
LIBRARY = PROJECT_ROOT / "scripts_library"


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("huashu")
    return Settings(
        index_dir=root / "index",
        data_dir=root / "data",
        cache_dir=PROJECT_ROOT / "var" / "cache",
        build_index_on_startup=False,
    )


@pytest.fixture(scope="session")
def encoder(base_settings: Settings) -> Encoder:
    return configured_encoder(base_settings)


@pytest.fixture(scope="session")
def built_index(base_settings: Settings, encoder: Encoder) -> BuildReport:
    return build_index(LIBRARY, base_settings.index_dir, encoder, base_settings.cache_dir, quiet=True)


@pytest.fixture(scope="session")
def assistant(base_settings: Settings, encoder: Encoder, built_index: BuildReport) -> Assistant:
    return load_assistant(base_settings, encoder)


@pytest.fixture
def library_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped library for tests that edit it."""
    target = tmp_path / "scripts_library"
    shutil.copytree(LIBRARY, target, ignore=shutil.ignore_patterns("*.py", "__pycache__", "*.md"))
    return target
