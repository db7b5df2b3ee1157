"""Shared fixtures: the real model and one real index built once per session, both in temp dirs.

Nothing here writes under the checkout's ``var/``: the index, the embedding cache and the databases of
a test session live in pytest's temp directories. Unit tests that need an encoder but not its quality
use ``tests.fakes.FakeEncoder`` and the small ``mini_library``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.settings import Settings
from indexer.build import BuildReport, build_index
from retrieval.encoder import Encoder, configured_encoder
from retrieval.pipeline import Assistant, load_assistant
from tests.fakes import copy_library, shrink_library

REPOSITORY = Path(__file__).resolve().parents[1]
LIBRARY = REPOSITORY / "scripts_library"


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("huashu")
    return Settings(
        library_dir=LIBRARY,
        index_dir=root / "index",
        data_dir=root / "data",
        cache_dir=root / "cache",
        build_index_on_startup=False,
        retrain_after_publish=False,
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
def served(base_settings: Settings, built_index: BuildReport, tmp_path: Path) -> Settings:
    """Settings for one service of its own: a copy of the session's index and a fresh data dir."""
    shutil.copytree(base_settings.index_dir, tmp_path / "index")
    return base_settings.model_copy(update={"index_dir": tmp_path / "index", "data_dir": tmp_path / "data"})


@pytest.fixture
def library_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped library for tests that edit it."""
    return copy_library(LIBRARY, tmp_path / "scripts_library")


@pytest.fixture
def mini_library(tmp_path: Path) -> Path:
    """A small, valid library (three intents, few examples): builds and trains in well under a second."""
    return shrink_library(copy_library(LIBRARY, tmp_path / "mini_library"))
