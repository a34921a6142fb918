"""A local Sentinel setup of real processes: a master, a replica and three sentinels on
loopback ports, stopped by their PIDs."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from .servers import RedisServer, free_port, start_redis

SERVICE = "cachemaster"


@dataclass
class Sentinels:
    data: list[RedisServer]  # the master first, then its replica
    sentinels: list[tuple[int, subprocess.Popen[bytes], Path]]

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port, _, _ in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    def master_port(self) -> int:
        for port, process, _ in self.sentinels:
            if process.poll() is not None:
                continue
            try:
                with redis.Redis(host="127.0.0.1", port=port, socket_timeout=2) as client:
                    _host, master = client.sentinel_get_master_addr_by_name(SERVICE)
                    return int(master)
            except redis.RedisError:
                continue
        raise RuntimeError("no sentinel answers")

    def master(self) -> RedisServer:
        port = self.master_port()
        return next(s for s in self.data if s.port == port)

    def failover(self) -> None:
        port = self.sentinels[0][0]
        with redis.Redis(host="127.0.0.1", port=port) as client:
            client.execute_command("SENTINEL FAILOVER", SERVICE)

    def wait_master_changed(self, old: int, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(RuntimeError, StopIteration):
                port = self.master_port()
                if port != old and self._is_master(port):
                    return port
            time.sleep(0.1)
        raise RuntimeError("the sentinels did not promote the replica")

    def _is_master(self, port: int) -> bool:
        try:
            with redis.Redis(host="127.0.0.1", port=port, socket_timeout=2) as client:
                role = client.execute_command("ROLE")[0]
        except redis.RedisError:
            return False
        return role in (b"master", "master")

    def wait_replica_synced(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for server in self.data:
                if server.process.poll() is not None:
                    continue
                try:
                    with server.client() as client:
                        role = client.execute_command("ROLE")
                except redis.RedisError:
                    continue
                if role[0] in (b"slave", "slave") and role[3] in (b"connected", "connected"):
                    return
            time.sleep(0.1)
        raise RuntimeError("the replica did not sync")

    def kill(self, server: RedisServer) -> None:
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()

    def stop(self) -> None:
        for _, process, workdir in self.sentinels:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            for leftover in workdir.iterdir():
                leftover.unlink()
            workdir.rmdir()
        for server in self.data:
            server.stop()


def start_sentinels(binary: str | None = None) -> Sentinels:
    master = start_redis(binary=binary)
    data = [master]
    sentinels: list[tuple[int, subprocess.Popen[bytes], Path]] = []
    try:
        data.append(start_redis("--replicaof", "127.0.0.1", str(master.port), binary=binary))
        setup = Sentinels(data, sentinels)
        setup.wait_replica_synced()
        for _ in range(3):
            port = free_port()
            workdir = master.workdir.parent / f"redmemo-sentinel-{port}"
            workdir.mkdir()
            conf = workdir / "sentinel.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {workdir}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {master.port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                f"sentinel failover-timeout {SERVICE} 3000\n"
            )
            log = open(workdir / "sentinel.log", "wb")  # noqa: SIM115 - lives with the process
            process = subprocess.Popen(
                [binary or shutil.which("redis-server") or "redis-server", str(conf), "--sentinel"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            log.close()
            sentinels.append((port, process, workdir))
        deadline = time.monotonic() + 30
        while True:
            try:
                if setup.master_port() == master.port:
                    break
            except (RuntimeError, redis.RedisError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the sentinels did not start")
            time.sleep(0.1)
        return setup
    except BaseException:
        Sentinels(data, sentinels).stop()
        raise
