"""The service's long-lived state: assistant, store, metrics, and how the index is (re)loaded."""

from __future__ import annotations

import logging
import os
import threading
import time

import faiss
from threadpoolctl import threadpool_limits

from app.observability import Metrics
from app.retrain import Retrainer
from app.settings import Settings
from app.store import Store
from indexer.build import build_index
from retrieval.artifact import ArtifactError, current_version, load_artifact
from retrieval.batching import BatchingEncoder
from retrieval.encoder import Encoder, configured_encoder
from retrieval.pipeline import Assistant, load_assistant
from retrieval.ranking import NO_FEEDBACK, Priors
from retrieval.serving import ServingIndex

log = logging.getLogger(__name__)


class Service:
    """Created in the app's lifespan; routes reach it through ``app.state.service``."""

    def __init__(self, settings: Settings, encoder: Encoder, assistant: Assistant, store: Store, metrics: Metrics):
        self.settings = settings
        self.encoder = encoder
        self.assistant = assistant
        self.store = store
        self.metrics = metrics
        self.priors: Priors = NO_FEEDBACK  # agents' pick rates, replaced whole on every refresh
        self._reload_lock = threading.Lock()
        self._publish_lock = threading.Lock()
        self.retrainer = Retrainer(settings, self.reload)
        self._stop = threading.Event()
        self._background = threading.Thread(target=self._background_loop, name="refresh", daemon=True)

    @classmethod
    def start(cls, settings: Settings, metrics: Metrics, encoder: Encoder | None = None) -> Service:
        """Load the model (unless one is handed over), the published index and the store.

        Threads: each of the ``workers`` processes gets cores ÷ workers encoder threads unless
        ``encoder_threads`` says otherwise, and one FAISS/BLAS thread, so workers × threads fits the cores.
        Concurrent requests share encoder calls through the micro-batcher (``encoder_max_batch``)."""
        if settings.search_threads:  # a single query's search and small matrix products gain nothing from threads
            faiss.omp_set_num_threads(settings.search_threads)
            threadpool_limits(settings.search_threads, user_api="blas")
        started = time.perf_counter()
        threads = settings.encoder_threads or max(1, (os.cpu_count() or 1) // settings.workers)
        encoder = encoder or configured_encoder(settings.model_copy(update={"encoder_threads": threads}))
        if settings.encoder_max_batch > 1:
            encoder = BatchingEncoder(encoder, settings.encoder_max_batch, settings.encoder_batch_window_ms)
        metrics.model_load_seconds.set(time.perf_counter() - started)
        if current_version(settings.index_dir) is None:
            if not settings.build_index_on_startup:
                raise ArtifactError(f"no index under {settings.index_dir}: run `python -m indexer build`")
            log.warning("no index published under %s: building one now", settings.index_dir)
            build_index(settings.library_dir, settings.index_dir, encoder, settings.cache_dir, quiet=True)
        assistant = load_assistant(settings, encoder)
        index = assistant.index
        metrics.set_index_version(index.version)
        store = Store(settings.effective_database_url)
        store.create_schema()
        store.start()
        service = cls(settings, encoder, assistant, store, metrics)
        service.refresh_priors()
        service._background.start()
        log.info("serving index %s (%d vectors)", index.version, index.manifest.item_count)
        if not settings.api_keys:
            log.warning("no API keys configured: every caller is trusted; keep the service on 127.0.0.1")
        return service

    def stop(self) -> None:
        self._stop.set()
        self.retrainer.stop()
        self.store.close()

    def refresh_priors(self) -> None:
        """Re-read pick rates from the shared store so every replica ranks alike."""
        try:
            self.priors = Priors(self.store.feedback_counts())
        except Exception as exc:  # a store outage must not stop suggestions
            log.warning("could not refresh ranking priors: %s", exc.__class__.__name__)

    def _background_loop(self) -> None:
        """Refresh ranking priors and, when polling is on, hot-swap newly published index versions."""
        poll = self.settings.index_poll_seconds
        tick = min(self.settings.prior_refresh_seconds, poll) if poll else self.settings.prior_refresh_seconds
        last_priors = time.monotonic()
        while not self._stop.wait(tick):
            if poll:
                try:
                    self.reload()
                except ArtifactError as exc:
                    log.error("new index refused, still serving %s: %s", self.assistant.index.version, exc)
            if time.monotonic() - last_priors >= self.settings.prior_refresh_seconds:
                self.refresh_priors()
                last_priors = time.monotonic()

    def reload(self) -> str:
        """Load and verify the ``CURRENT`` version, then swap it in. Raises ``ArtifactError`` if bad."""
        with self._reload_lock:
            version = current_version(self.settings.index_dir)
            if version == self.assistant.index.version:
                return version
            artifact = load_artifact(self.settings.index_dir, self.encoder.fingerprint, self.encoder.dimension)
            self.assistant.swap(ServingIndex(artifact))
            self.metrics.set_index_version(artifact.manifest.version)
            log.info("hot-swapped index to %s", artifact.manifest.version)
            return artifact.manifest.version

    def publish_library(self) -> str:
        """Re-index the library now, reusing the served classifiers, and serve it; returns the new version.

        Only edited texts are embedded (the rest come from the embedding cache), so an approved script is
        suggested within seconds. The classifiers are then retrained by a separate low-priority process
        (``app.retrain``), whose version is swapped in when it is done, unless the library changed meanwhile.
        """
        with self._publish_lock:
            s = self.settings
            build_index(s.library_dir, s.index_dir, self.encoder, s.cache_dir, quiet=True, retrain=False)
            version = self.reload()
        if self.settings.retrain_after_publish:
            self.retrainer.request()
        return version
