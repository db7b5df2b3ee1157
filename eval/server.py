"""The real service (`python -m app`) as a separate process on loopback, for benchmarks and fault tests.

``with Server(workers=2, env={...}) as server:`` starts ``python -m app`` on a free port, waits for
``/readyz`` and stops the whole process group on exit. ``kill()`` sends SIGKILL (a crash, no
shutdown hooks); ``log_file`` captures everything the server writes, so a test can grep it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

READY_TIMEOUT_S = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``python -m app`` on loopback, stopped on exit."""

    def __init__(
        self,
        workers: int,
        env: dict[str, str] | None = None,
        log_file: Path | None = None,
        log_level: str = "warning",
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "app"]  # what `make run` and the Docker image start
        launch = {
            "HUASHU_HOST": "127.0.0.1",
            "HUASHU_PORT": str(self.port),
            "HUASHU_WORKERS": str(workers),
            "HUASHU_LOG_LEVEL": log_level.upper(),
        }
        self._log = log_file.open("ab") if log_file else None
        output = self._log or subprocess.DEVNULL
        self.process = subprocess.Popen(
            command,
            env={**os.environ, **launch, **(env or {})},
            stdout=output,
            stderr=output,
            start_new_session=True,
        )

    def __enter__(self) -> Server:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.__exit__()
                raise RuntimeError(f"server exited with status {self.process.returncode} before it was ready")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.__exit__()
        raise RuntimeError(f"server did not become ready in {READY_TIMEOUT_S} s")

    def pids(self) -> list[int]:
        """The worker processes (or the server itself when it runs a single process)."""
        children = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in children.split()] or [self.process.pid]

    def _status_kb(self, field: str) -> list[float]:
        sizes = []
        for pid in self.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except FileNotFoundError:
                continue
            line = next((line for line in status.splitlines() if line.startswith(field)), f"{field}: 0 kB")
            sizes.append(int(line.split()[1]) / 1024)
        return sizes

    def worker_rss_mb(self) -> list[float]:
        """Peak resident memory of each worker (VmHWM), in MB."""
        return self._status_kb("VmHWM")

    def worker_current_rss_mb(self) -> list[float]:
        """Resident memory of each worker right now (VmRSS), in MB."""
        return self._status_kb("VmRSS")

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, with no shutdown hooks run."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def __exit__(self, *_: object) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log:
            self._log.close()
