"""Serving with several worker processes, each with its own listening socket (``python -m app``)."""

from __future__ import annotations

import logging
import socket
import sys

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

log = logging.getLogger("huashu")


def bound_in_port_group(sock: socket.socket, address: tuple) -> socket.socket:
    """``sock`` bound to ``address`` in the port's SO_REUSEPORT group (not yet listening)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


def reuse_port_socket(family: int, address: tuple) -> socket.socket:
    """A worker's own listening socket for ``address``."""
    return bound_in_port_group(socket.socket(family), address)


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
    """uvicorn's configuration, with a socket per worker on Linux (which balances a SO_REUSEPORT group)."""

    def bind_socket(self) -> socket.socket:
        if sys.platform != "linux" or self.uds or self.fd is not None:
            return super().bind_socket()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            sock = bound_in_port_group(WorkerSocket(family), (self.host, self.port))
        except OSError as exc:
            log.error("cannot listen on %s:%d (%s): free the port or set HUASHU_PORT", self.host, self.port, exc)
            sys.exit(STARTUP_FAILURE)
        log.info("listening on %s:%d with %d workers (one socket each)", self.host, self.port, self.workers)
        return sock


def serve(config: ServiceConfig) -> None:
    """Run ``config``'s app: in this process, or in ``config.workers`` supervised worker processes."""
    if config.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        uvicorn.Server(config).run()
