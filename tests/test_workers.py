"""Several worker processes share the load of keep-alive clients (``python -m app`` with ``HUASHU_WORKERS``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
from pathlib import Path

import httpx
import pytest

from eval.reliability import server_env
from eval.server import Server


def established_connections(pid: int, port: int) -> int:
    """TCP connections that process ``pid`` holds on local ``port`` (its sockets' inodes, read from /proc)."""
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
            local_port, state, inode = int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9]
            count += local_port == port and state == "01" and inode in inodes  # 01: ESTABLISHED
    return count


async def connect_at_once(server: Server, clients: int) -> list[int]:
    """Open ``clients`` keep-alive connections together, as a team's consoles do; connections per process."""
    async with contextlib.AsyncExitStack() as stack:
        opened = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=server.url, timeout=30)) for _ in range(clients)
        ]
        responses = await asyncio.gather(*(client.get("/healthz") for client in opened))
        assert all(r.status_code == 200 for r in responses)
        return [established_connections(pid, server.port) for pid in server.pids()]


@pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT balancing and /proc are Linux's")
def test_keep_alive_clients_are_spread_over_the_workers(base_settings, built_index, tmp_path):
    """With one shared socket, the worker that woke first accepted a whole burst of connections and kept them."""
    shutil.copytree(base_settings.index_dir, tmp_path / "index")
    with Server(workers=2, env=server_env(base_settings, tmp_path)) as server:
        per_worker = asyncio.run(connect_at_once(server, 16))
    assert sum(per_worker) == 16, per_worker
    serving = [n for n in per_worker if n]  # pids() also lists multiprocessing's helper process
    assert len(serving) == 2, f"connections per process: {per_worker}"
