"""The service's long-lived state: the assistant and how its index is (re)loaded."""

from __future__ import annotations

import logging
import threading

from app.settings import Settings
from indexer.build import build_index
from retrieval.artifact import ArtifactError, current_version, load_artifact
from retrieval.encoder import Encoder, load_encoder
from retrieval.pipeline import Assistant, ServingIndex

log = logging.getLogger(__name__)


class Service:
    """Created in the app's lifespan; routes reach it through ``app.state.service``."""

    def __init__(self, settings: Settings, encoder: Encoder, assistant: Assistant) -> None:
        self.settings = settings
        self.encoder = encoder
        self.assistant = assistant
        self._reload_lock = threading.Lock()

    @classmethod
    def start(cls, settings: Settings) -> Service:
        encoder = load_encoder(
            settings.model_dir,
            settings.encoder_backend,
            settings.query_prefix,
            settings.max_seq_length,
            settings.encoder_threads,
        )
        if current_version(settings.index_dir) is None:
            if not settings.build_index_on_startup:
                raise ArtifactError(f"no index under {settings.index_dir}: run `python -m indexer build`")
            log.warning("no index published under %s: building one now", settings.index_dir)
            build_index(settings.library_dir, settings.index_dir, encoder, settings.cache_dir, quiet=True)
        index = ServingIndex(load_artifact(settings.index_dir, encoder.fingerprint, encoder.dimension))
        assistant = Assistant(encoder, index, settings.ranking, settings.classifier, settings.message_cache_size)
        log.info("serving index %s (%d vectors)", index.version, index.manifest.item_count)
        return cls(settings, encoder, assistant)

    def reload(self) -> str:
        """Load and verify the ``CURRENT`` version, then swap it in. Raises ``ArtifactError`` if bad."""
        with self._reload_lock:
            version = current_version(self.settings.index_dir)
            if version == self.assistant.index.version:
                return version
            artifact = load_artifact(self.settings.index_dir, self.encoder.fingerprint, self.encoder.dimension)
            self.assistant.swap(ServingIndex(artifact))
            log.info("hot-swapped index to %s", artifact.manifest.version)
            return artifact.manifest.version
