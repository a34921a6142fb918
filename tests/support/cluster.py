"""A local Redis (or Valkey) Cluster of real processes: masters and replicas on loopback
ports, formed with CLUSTER commands (so no redis-cli is needed, and Valkey, which ships
only its server, forms the same way), stopped by their PIDs."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import redis

from .servers import RedisServer, start_redis

SLOTS = 16384


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# Node ports and their cluster-bus twins (port + 10000) both below Linux's ephemeral
# range (32768 and up by default): a port found free there is not taken a moment later
# by an outgoing connection of the suite itself, as one in that range can be.
_LOWEST, _HIGHEST = 10001, 22767


def _cluster_ports(taken: set[int]) -> Iterator[int]:
    """Ports whose cluster-bus twin is free as well, none of ``taken``."""
    span = _HIGHEST - _LOWEST
    candidate = _LOWEST + (os.getpid() * 37) % span
    for _ in range(span):
        candidate = _LOWEST + (candidate + 1 - _LOWEST) % span
        if candidate not in taken and _free(candidate) and _free(candidate + 10000):
            yield candidate


def _start_node(taken: set[int], binary: str | None, node_timeout_ms: int) -> RedisServer:
    """A cluster-enabled server on a free port pair; another pair if one was taken
    between the check and the start (by a process not ours)."""
    failure: RuntimeError | None = None
    for attempt, port in enumerate(_cluster_ports(taken)):
        if attempt == 5:
            break
        try:
            return start_redis(
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                f"nodes-{port}.conf",
                "--cluster-node-timeout",
                str(node_timeout_ms),
                "--cluster-require-full-coverage",
                "no",
                port=port,
                binary=binary,
            )
        except RuntimeError as exc:
            failure = exc
            taken.add(port)
    raise RuntimeError(f"no cluster node could start: {failure}")


@dataclass
class LocalCluster:
    servers: list[RedisServer]
    masters: int

    @property
    def url(self) -> str:
        seeds = ",".join(f"127.0.0.1:{s.port}" for s in self.servers[: self.masters])
        return f"redis+cluster://{seeds}/0"

    def client(self, port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)

    def cluster_client(self) -> redis.RedisCluster:
        return redis.RedisCluster(host="127.0.0.1", port=self.alive()[0].port)

    def alive(self) -> list[RedisServer]:
        return [s for s in self.servers if s.process.poll() is None]

    def primary_of(self, key: str) -> RedisServer:
        """The server that holds ``key``'s slot now."""
        with self.cluster_client() as cluster:
            node = cluster.get_node_from_key(key)
            port = int(node.port)
        return next(s for s in self.servers if s.port == port)

    def flush(self) -> None:
        for server in self.alive():
            with self.client(server.port) as client:
                try:
                    if client.execute_command("ROLE")[0] in (b"master", "master"):
                        client.flushall()
                except redis.RedisError:
                    pass

    def pause(self, server: RedisServer) -> None:
        os.kill(server.process.pid, signal.SIGSTOP)

    def resume(self, server: RedisServer) -> None:
        os.kill(server.process.pid, signal.SIGCONT)

    def kill(self, server: RedisServer) -> None:
        server.process.kill()
        server.process.wait()

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Until every live node says the cluster is ok and every slot has a live master
        (right after a kill the others still say ok: they have not noticed yet)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            alive = self.alive()
            if all(self._ok(s.port) for s in alive) and self._owners() <= {s.port for s in alive}:
                return
            time.sleep(0.1)
        raise RuntimeError("the local cluster did not reach cluster_state:ok")

    def _owners(self) -> set[int]:
        """The ports that every live node names as masters of slots."""
        owners: set[int] = set()
        for server in self.alive():
            try:
                with self.client(server.port) as client:
                    ranges = client.execute_command("CLUSTER SLOTS")
            except redis.RedisError:
                return {-1}  # not known yet: not settled
            owners.update(int(entry[2][1]) for entry in ranges)
        return owners

    def _ok(self, port: int) -> bool:
        try:
            with self.client(port) as client:
                info = client.execute_command("CLUSTER INFO")
        except redis.RedisError:
            return False
        if isinstance(info, dict):  # redis-py parses the reply
            return bool(
                info.get("cluster_state") == "ok" and int(info.get("cluster_slots_ok", 0)) == SLOTS
            )
        text = info.decode() if isinstance(info, bytes) else str(info)
        return "cluster_state:ok" in text and f"cluster_slots_ok:{SLOTS}" in text

    def stop(self) -> None:
        for server in self.servers:
            if server.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(server.process.pid, signal.SIGCONT)  # a paused one must hear TERM
            server.stop()


def _node_id(client: redis.Redis) -> str:
    raw = client.execute_command("CLUSTER MYID")
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _known(client: redis.Redis) -> int:
    raw = client.execute_command("CLUSTER NODES")
    if isinstance(raw, dict):  # redis-py parses the reply
        return len(raw)
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return len([line for line in text.splitlines() if line.strip()])


def start_cluster(
    masters: int = 3, replicas: int = 1, binary: str | None = None, node_timeout_ms: int = 1500
) -> LocalCluster:
    count = masters * (1 + replicas)
    servers: list[RedisServer] = []
    try:
        taken: set[int] = set()
        for _ in range(count):
            server = _start_node(taken, binary, node_timeout_ms)
            taken.add(server.port)
            servers.append(server)
        clients = [redis.Redis(host="127.0.0.1", port=s.port, socket_timeout=5) for s in servers]
        try:
            _form(clients, servers, masters, replicas)
        finally:
            for client in clients:
                client.close()
        cluster = LocalCluster(servers, masters)
        cluster.wait_ok()
        _wait_replicas(cluster, masters * replicas)
        return cluster
    except BaseException:
        for server in servers:
            server.stop()
        raise


def _form(
    clients: list[redis.Redis], servers: list[RedisServer], masters: int, replicas: int
) -> None:
    for epoch, client in enumerate(clients[:masters], start=1):
        client.execute_command("CLUSTER SET-CONFIG-EPOCH", epoch)
    first = servers[0].port
    for client in clients[1:]:
        client.execute_command("CLUSTER MEET", "127.0.0.1", first)
    deadline = time.monotonic() + 30
    while any(_known(c) < len(clients) for c in clients):
        if time.monotonic() > deadline:
            raise RuntimeError("the cluster nodes did not meet")
        time.sleep(0.05)
    share = SLOTS // masters
    ids = [_node_id(c) for c in clients]
    for i, client in enumerate(clients[:masters]):
        start = i * share
        end = SLOTS - 1 if i == masters - 1 else start + share - 1
        client.execute_command("CLUSTER ADDSLOTSRANGE", start, end)
    for j, client in enumerate(clients[masters:]):
        master = ids[j % masters]
        deadline = time.monotonic() + 30
        while True:
            try:
                client.execute_command("CLUSTER REPLICATE", master)
                break
            except redis.ResponseError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)  # the replica has not yet learnt that this node is a master


def _wait_replicas(cluster: LocalCluster, expected: int, timeout: float = 30.0) -> None:
    """Until the replicas are in sync with their masters (a failover needs one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        synced = 0
        for server in cluster.alive():
            try:
                with cluster.client(server.port) as client:
                    role = client.execute_command("ROLE")
            except redis.RedisError:
                continue
            name = role[0].decode() if isinstance(role[0], bytes) else role[0]
            if name in ("slave", "replica") and role[3] in (b"connected", "connected"):
                synced += 1
        if synced >= expected:
            return
        time.sleep(0.1)
    raise RuntimeError("the cluster's replicas did not sync")
