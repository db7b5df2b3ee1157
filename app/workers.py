"""Serving with several worker processes, each with its own listening socket (``python -m app``)."""

from __future__ import annotations

import logging
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

log = logging.getLogger("huashu")


def reuse_port_socket(family: int, address: tuple) -> socket.socket:
    """A TCP socket bound to ``address`` in the port's SO_REUSEPORT group (not yet listening)."""
    sock = socket.socket(family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


class WorkerSocket(socket.socket):
    """The listening address, handed to each worker process as a socket of its own.

    uvicorn gives every worker the one socket its parent bound; whichever worker's event loop wakes first then
    accepts a whole burst of connections (asyncio takes up to 100 at a time), and keep-alive clients such as a
    team's console plugins stay on it: with 2 workers and 16 clients one worker used 9 CPU-seconds while the
    other used 0.01. Unpickled in a worker, this socket binds afresh in the port's ``SO_REUSEPORT`` group, so
    the kernel spreads new connections over the workers. The parent's copy only holds the port: it never
    listens, so it takes no connections.
    """

    def __reduce_ex__(self, protocol: object) -> tuple:
        return reuse_port_socket, (self.family, self.getsockname())


class ServiceConfig(uvicorn.Config):
    """uvicorn's configuration, with a socket per worker where the platform has ``SO_REUSEPORT``."""

    def bind_socket(self) -> socket.socket:
        if not hasattr(socket, "SO_REUSEPORT") or self.uds or self.fd is not None:
            return super().bind_socket()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = WorkerSocket(family)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((self.host, self.port))
        log.info("listening on %s:%d with %d workers (one socket each)", self.host, self.port, self.workers)
        return sock


def serve(config: ServiceConfig) -> None:
    """Run ``config``'s app: in this process, or in ``config.workers`` supervised worker processes."""
    if config.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        uvicorn.Server(config).run()
