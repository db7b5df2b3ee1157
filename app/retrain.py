"""Retraining after a studio publish, in a separate low-priority process, one at a time.

An approval is served within seconds by a quick publish that reuses the served classifiers; retraining them
takes half a minute of CPU, which inside the serving worker would slow every suggestion. So ``Retrainer``
runs ``python -m indexer build --only-if-unchanged`` as a child process with one thread, hands its result
over by the normal artifact publish, and asks the service to hot-swap it. Approvals that arrive meanwhile are
folded into one more run after it (the latest library wins); a run that finds the library changed under it
does not publish.

Priorities alone do not keep the child off the requests' back: on a small (virtual) machine a busy process
at the lowest priority still slows the encoder by half through shared caches and the host's scheduling. So
the child is paused (SIGSTOP) while this worker serves a request and resumed when it serves none: it trains
in the gaps between suggestions, under ``SCHED_IDLE`` (or nice 19) for whatever else runs on the machine.
A load that never leaves a gap postpones the retrain; the approved text is served meanwhile all the same.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from retrieval.settings import RetrievalSettings

log = logging.getLogger(__name__)

ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
LOWEST_PRIORITY = 19


def environment(settings: RetrievalSettings) -> dict[str, str]:
    """The ``HUASHU_*`` variables that make a child process read the same model, library and index."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump(mode="json").items():
        if name in RetrievalSettings.model_fields:
            env[f"HUASHU_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    return env


def lower_priority(pid: int) -> None:
    """Let process ``pid`` use only CPU time that serving does not want."""
    with contextlib.suppress(OSError):  # it may already be gone
        os.setpriority(os.PRIO_PROCESS, pid, LOWEST_PRIORITY)
        if hasattr(os, "SCHED_IDLE"):
            os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))


class ServingGate:
    """Keeps a background process paused while at least one request is being served."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._serving = 0
        self._process: subprocess.Popen | None = None

    def attach(self, process: subprocess.Popen | None) -> None:
        """Gate ``process`` from now on (``None``: nothing to gate); paused at once if a request is in flight."""
        with self._lock:
            self._process = process
            if process is not None and self._serving:
                process.send_signal(signal.SIGSTOP)

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        """Around the work of one request: the gated process does not run until no request is left."""
        self._step(+1, signal.SIGSTOP)
        try:
            yield
        finally:
            self._step(-1, signal.SIGCONT)

    def _step(self, change: int, sent_at_edge: signal.Signals) -> None:
        with self._lock:
            self._serving += change
            edge = self._serving == (1 if change > 0 else 0)  # the first request began, or the last one ended
            if edge and self._process is not None:
                self._process.send_signal(sent_at_edge)  # does nothing once the process has ended


class Retrainer:
    """Runs at most one retraining process; ``request()`` schedules the next, ``serving()`` pauses it."""

    def __init__(self, settings: RetrievalSettings, on_published: Callable[[], object]) -> None:
        self._settings = settings
        self._on_published = on_published
        self._lock = threading.Lock()
        self._wanted = False
        self._thread: threading.Thread | None = None
        self._process: subprocess.Popen | None = None
        self._gate = ServingGate()
        self.runs = 0

    def request(self) -> None:
        """Retrain the library as it is now: at once, or right after the run in progress."""
        with self._lock:
            self._wanted = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="retrain", daemon=True)
                self._thread.start()

    def serving(self) -> contextlib.AbstractContextManager[None]:
        """Wrap a request's work: the retraining process is paused until it (and every other) is done."""
        return self._gate.serving()

    def busy(self) -> bool:
        with self._lock:
            return self._thread is not None

    def stop(self) -> None:
        """Stop a run in progress (its version is not published); used at shutdown."""
        with self._lock:
            self._wanted = False
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            process.send_signal(signal.SIGCONT)  # a paused process acts on SIGTERM once resumed

    def _loop(self) -> None:
        while True:
            with self._lock:
                if not self._wanted:
                    self._thread = None
                    return
                self._wanted = False
            if self._run() == 0:
                self._on_published()

    def _run(self) -> int:
        s = self._settings
        command = [sys.executable, "-m", "indexer", "build", "--quiet", "--only-if-unchanged"]
        command += ["--exit-with-parent", str(os.getpid())]
        command += ["--library", str(Path(s.library_dir).resolve()), "--out", str(Path(s.index_dir).resolve())]
        env = os.environ | environment(s) | ONE_THREAD | {"HUASHU_ENCODER_THREADS": "1"}
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        with self._lock:
            self._process = process
        lower_priority(process.pid)
        self._gate.attach(process)
        try:
            output, _ = process.communicate()
        finally:
            self._gate.attach(None)
        with self._lock:
            self._process = None
            self.runs += 1
        if process.returncode != 0:
            log.error("retraining failed (exit %d): %s", process.returncode, output.strip()[-500:])
        return process.returncode
