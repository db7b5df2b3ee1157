"""Several worker processes share the load of keep-alive clients (``python -m app`` with ``HUASHU_WORKERS``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import time
from pathlib import Path

import httpx
import pytest

from eval.reliability import server_env
from eval.server import Server

ESTABLISHED, LISTENING = "01", "0A"  # TCP states as /proc/net/tcp writes them


def sockets_on_port(pid: int, port: int, state: str) -> int:
    """TCP sockets in ``state`` that process ``pid`` holds on local ``port`` (its sockets' inodes, read from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port, inode = int(fields[1].rsplit(":", 1)[1], 16), fields[9]
            count += local_port == port and fields[3] == state and inode in inodes
    return count


def wait_until_every_worker_listens(server: Server, workers: int, timeout_s: float = 60.0) -> None:
    """``/readyz`` answers as soon as one worker is up; a worker joins the port's group only once it has loaded."""
    deadline = time.monotonic() + timeout_s
    while sum(sockets_on_port(pid, server.port, LISTENING) > 0 for pid in server.pids()) < workers:
        assert time.monotonic() < deadline, f"fewer than {workers} workers listening after {timeout_s} s"
        time.sleep(0.1)


async def connect_at_once(server: Server, clients: int) -> list[int]:
    """Open ``clients`` keep-alive connections together, as a team's consoles do; connections per process."""
    async with contextlib.AsyncExitStack() as stack:
        opened = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=server.url, timeout=30)) for _ in range(clients)
        ]
        responses = await asyncio.gather(*(client.get("/healthz") for client in opened))
        assert all(r.status_code == 200 for r in responses)
        return [sockets_on_port(pid, server.port, ESTABLISHED) for pid in server.pids()]


@pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT balancing and /proc are Linux's")
def test_keep_alive_clients_are_spread_over_the_workers(base_settings, built_index, tmp_path):
    """With one shared socket, the worker that woke first accepted a whole burst of connections and kept them."""
    shutil.copytree(base_settings.index_dir, tmp_path / "index")
    with Server(workers=2, env=server_env(base_settings, tmp_path)) as server:
        wait_until_every_worker_listens(server, 2)
        per_worker = asyncio.run(connect_at_once(server, 16))
    assert sum(per_worker) == 16, per_worker
    serving = [n for n in per_worker if n]  # pids() also lists multiprocessing's helper process
    assert len(serving) == 2, f"connections per process: {per_worker}"
