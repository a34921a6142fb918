"""Redis clients built for a cache: no retry that could repeat a command whose effect
may already have happened, and the settings of the pool.

redis-py's default retry re-sends a command after a timeout, so an ``INCRBY`` could
count twice; here the client retries nothing. Its pool raises ``MaxConnectionsError``
past ``max_connections``; the backend never lets it get there: a gate as wide as the
pool makes callers wait in line (up to ``pool_timeout``) instead of failing open while
Redis is healthy. (Not redis-py's BlockingConnectionPool: its async twin waits through
``asyncio.wait_for`` on every call, which costs a tenth of a cache hit.)
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.connection
import redis.asyncio.retry
import redis.asyncio.sentinel
import redis.backoff
import redis.cluster
import redis.connection
import redis.exceptions
import redis.retry
import redis.sentinel

from ...config import BackendSettings

__all__ = [
    "CLIENT_ERRORS",
    "AsyncSharedPool",
    "SyncSharedPool",
    "DEFAULTS",
    "LazyCluster",
    "abandon",
    "async_client",
    "async_client_for",
    "async_reader_for",
    "client_for",
    "listener_connector",
    "pool_size",
    "pool_timeout",
    "reader_for",
    "sync_client",
    "tracking_connector",
]

# What a client call may raise when Redis fails it. Not only RedisError: the cluster client
# raises RedisClusterException (no reachable node), and under a failover redis-py's asyncio
# cluster client was seen raising AttributeError from a connection another task had just
# closed. Whatever the client raises is a backend failure (logged, and the function runs
# uncached), never an exception in the caller's code. Cancellation is not an Exception.
CLIENT_ERRORS: tuple[type[Exception], ...] = (Exception,)

# A cache must fail fast: a Redis that does not answer costs the caller a short timeout,
# then the function runs uncached. URL options change each of them.
DEFAULTS: dict[str, Any] = {
    "socket_timeout": 1.0,
    "socket_connect_timeout": 1.0,
    "max_connections": 100,
    "pool_timeout": 1.0,
}


def pool_size(settings: Mapping[str, Any]) -> int:
    """How many commands may be in flight at once (connections per pool, or per node)."""
    return int(settings.get("max_connections", DEFAULTS["max_connections"]))


def pool_timeout(settings: Mapping[str, Any]) -> float:
    """How long a caller waits for a free pooled connection (the backend waits)."""
    return float(settings.get("pool_timeout", DEFAULTS["pool_timeout"]))


def _split(settings: Mapping[str, Any]) -> tuple[dict[str, Any], int, float, bool, str | None]:
    kwargs = {**DEFAULTS, **settings}
    max_connections = int(kwargs.pop("max_connections"))
    pool_timeout = float(kwargs.pop("pool_timeout"))
    ssl = bool(kwargs.pop("ssl", False))
    path = kwargs.pop("unix_socket_path", None)
    if path is not None:
        kwargs.pop("host", None)
        kwargs.pop("port", None)
        kwargs["path"] = path
    return kwargs, max_connections, pool_timeout, ssl, path


class SyncSharedPool(redis.ConnectionPool):
    """redis-py's pool, which, when it runs out, takes back a connection the backend's
    lane keeps (``_sync/lane.py``): kept connections never starve pipelines and scans."""

    spare: Callable[[], Any] | None = None

    def make_connection(self) -> Any:
        try:
            return super().make_connection()
        except redis.exceptions.MaxConnectionsError:
            kept = self.spare() if self.spare is not None else None
            if kept is None:
                raise
            return kept  # still counted as in use: get_connection hands it on


class AsyncSharedPool(redis.asyncio.ConnectionPool):
    """The same for asyncio (``_async/lane.py``)."""

    spare: Callable[[], Any] | None = None

    def get_available_connection(self) -> Any:
        try:
            return super().get_available_connection()  # type: ignore[no-untyped-call]
        except redis.exceptions.MaxConnectionsError:
            kept = self.spare() if self.spare is not None else None
            if kept is None:
                raise
            return kept  # still in _in_use_connections


def sync_client(settings: Mapping[str, Any]) -> redis.Redis:
    kwargs, size, _, ssl, path = _split(settings)
    kind: Any = redis.connection.Connection
    if path is not None:
        kind = redis.connection.UnixDomainSocketConnection
    elif ssl:
        kind = redis.connection.SSLConnection
    kwargs.setdefault("retry", redis.retry.Retry(redis.backoff.NoBackoff(), 0))
    pool = SyncSharedPool(max_connections=size, connection_class=kind, **kwargs)
    client = redis.Redis(connection_pool=pool)
    client.auto_close_connection_pool = True  # the pool is the client's alone: close both
    return client


def async_client(settings: Mapping[str, Any]) -> redis.asyncio.Redis:
    kwargs, size, _, ssl, path = _split(settings)
    kind: Any = redis.asyncio.connection.Connection
    if path is not None:
        kind = redis.asyncio.connection.UnixDomainSocketConnection
    elif ssl:
        kind = redis.asyncio.connection.SSLConnection
    kwargs.setdefault("retry", redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), 0))
    pool = AsyncSharedPool(max_connections=size, connection_class=kind, **kwargs)
    client = redis.asyncio.Redis(connection_pool=pool)
    client.auto_close_connection_pool = True
    return client


def abandon(client: redis.asyncio.Redis) -> None:
    """Close the sockets of an async client whose event loop is gone: nothing can await
    its proper close any more, and the server would otherwise keep the connections."""
    pool = client.connection_pool
    connections = [
        *getattr(pool, "_available_connections", ()),
        *getattr(pool, "_in_use_connections", ()),
    ]
    for connection in connections:
        writer = getattr(connection, "_writer", None)
        sock = getattr(getattr(writer, "transport", None), "_sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()


# -- Cluster and Sentinel ------------------------------------------------------------------


def _no_retry_sync() -> redis.retry.Retry:
    return redis.retry.Retry(redis.backoff.NoBackoff(), 0)


def _no_retry_async() -> redis.asyncio.retry.Retry:
    return redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), 0)


def _cluster_kwargs(settings: BackendSettings) -> dict[str, Any]:
    kwargs = {**DEFAULTS, **settings.redis_kwargs}
    kwargs.pop("pool_timeout")
    if not kwargs.get("ssl"):
        kwargs.pop("ssl", None)
    # No retry of ours or redis-py's re-sends a command whose effect may have happened;
    # MOVED and ASK redirections (the command did not run) are still followed.
    if settings.read_from_replicas:
        kwargs["read_from_replicas"] = True
    return kwargs


def _script_policies(asynchronous: bool) -> dict[str, Any]:
    """EVALSHA routed by its keys, with no COMMAND GETKEYS round trip.

    redis-py 8's cluster pipeline asks the server for the keys of every command it has no
    routing policy for, EVALSHA included (one more round trip per script in a pipeline;
    its plain commands know EVALSHA's keys by heart). A policy resolver that names
    EVALSHA as keyed lets the pipeline route it as a plain command does. Versions
    without resolvers do not have the extra round trip either.
    """
    try:
        from redis._parsers.commands import CommandPolicies, RequestPolicy, ResponsePolicy
        from redis.commands.policies import (
            AsyncBasePolicyResolver,
            AsyncStaticPolicyResolver,
            BasePolicyResolver,
            StaticPolicyResolver,
        )
    except ImportError:
        return {}
    keyed = CommandPolicies(
        request_policy=RequestPolicy.DEFAULT_KEYED, response_policy=ResponsePolicy.DEFAULT_KEYED
    )
    records: Any = {"core": {"evalsha": keyed, "eval": keyed}}

    class Scripts(BasePolicyResolver):
        def with_fallback(self, fallback: Any) -> Any:
            return Scripts(records, fallback)

    class AsyncScripts(AsyncBasePolicyResolver):
        def with_fallback(self, fallback: Any) -> Any:
            return AsyncScripts(records, fallback)

    if asynchronous:
        return {"policy_resolver": AsyncStaticPolicyResolver(AsyncScripts(records))}
    return {"policy_resolver": StaticPolicyResolver(Scripts(records))}


def sync_cluster(settings: BackendSettings) -> redis.cluster.RedisCluster:
    nodes = [
        redis.cluster.ClusterNode(host, port)  # type: ignore[no-untyped-call]
        for host, port in settings.nodes
    ]
    return redis.cluster.RedisCluster(
        startup_nodes=nodes,
        retry=_no_retry_sync(),
        **_script_policies(False),
        **_cluster_kwargs(settings),
    )


def async_cluster(settings: BackendSettings) -> redis.asyncio.cluster.RedisCluster:
    nodes = [redis.asyncio.cluster.ClusterNode(host, port) for host, port in settings.nodes]
    return redis.asyncio.cluster.RedisCluster(
        startup_nodes=nodes,
        retry=_no_retry_async(),
        **_script_policies(True),
        **_cluster_kwargs(settings),
    )


class LazyCluster:
    """A sync cluster client made on first use. redis-py's connects to the cluster as it
    is made; a cache must be creatable while Redis is down, and a failure to reach it
    must come from a command (where the backend fails open), not from the constructor."""

    def __init__(self, settings: BackendSettings) -> None:
        self._settings = settings
        self._client: redis.cluster.RedisCluster | None = None
        self._lock = threading.Lock()

    def connected(self) -> redis.cluster.RedisCluster:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = sync_cluster(self._settings)
                client = self._client
        return client

    def initialize(self) -> LazyCluster:
        self.connected()
        return self

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        return self.connected().execute_command(*args, **kwargs)  # type: ignore[no-untyped-call]

    def pipeline(self, transaction: bool = False) -> Any:
        client = self.connected()
        pipe = client.pipeline(transaction=transaction)  # type: ignore[no-untyped-call]
        # redis-py 8's sync pipeline does not take its client's policy resolver (the async
        # one does): hand it over, so that pipelined scripts need no COMMAND GETKEYS.
        resolver = getattr(client, "_policy_resolver", None)
        if resolver is not None and hasattr(pipe, "_policy_resolver"):
            pipe._policy_resolver = resolver
        return pipe

    def __getattr__(self, name: str) -> Any:
        # The rest of redis-py's API (shared statistics use a few commands).
        return getattr(self.connected(), name)

    def scan_iter(self, match: str, count: int) -> Iterator[Any]:
        return self.connected().scan_iter(match=match, count=count)

    def nodes(self) -> list[tuple[str, int]]:
        """Every node the client knows of (primaries and replicas)."""
        nodes = self.connected().get_nodes()  # type: ignore[no-untyped-call]
        return [(node.host, int(node.port)) for node in nodes]

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()


def _sentinel_sync(settings: BackendSettings) -> redis.sentinel.Sentinel:
    kwargs = {**DEFAULTS, **settings.redis_kwargs}
    kwargs.pop("pool_timeout")
    if not kwargs.get("ssl"):
        kwargs.pop("ssl", None)  # the pool picks its TLS connection class by this flag
    return redis.sentinel.Sentinel(  # type: ignore[no-untyped-call]
        list(settings.nodes), sentinel_kwargs=dict(settings.sentinel_kwargs), **kwargs
    )


def _sentinel_async(settings: BackendSettings) -> redis.asyncio.sentinel.Sentinel:
    kwargs = {**DEFAULTS, **settings.redis_kwargs}
    kwargs.pop("pool_timeout")
    if not kwargs.get("ssl"):
        kwargs.pop("ssl", None)
    return redis.asyncio.sentinel.Sentinel(  # type: ignore[no-untyped-call]
        list(settings.nodes), sentinel_kwargs=dict(settings.sentinel_kwargs), **kwargs
    )


class _SentinelManaged(redis.Redis):
    """The master's client; closing it closes the connections to the sentinels too."""

    def close(self) -> None:
        super().close()
        for sentinel in self.connection_pool.sentinel_manager.sentinels:  # type: ignore[attr-defined]
            sentinel.close()


class _AsyncSentinelManaged(redis.asyncio.Redis):
    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        for sentinel in self.connection_pool.sentinel_manager.sentinels:  # type: ignore[attr-defined]
            await sentinel.aclose()


def _sentinel_master_sync(settings: BackendSettings, replica: bool = False) -> redis.Redis:
    assert settings.service is not None
    sentinel = _sentinel_sync(settings)
    pick = sentinel.slave_for if replica else sentinel.master_for
    client: redis.Redis = pick(  # type: ignore[no-untyped-call]
        settings.service, redis_class=_SentinelManaged, retry=_no_retry_sync()
    )
    return client


def _sentinel_master_async(settings: BackendSettings, replica: bool = False) -> redis.asyncio.Redis:
    assert settings.service is not None
    sentinel = _sentinel_async(settings)
    pick = sentinel.slave_for if replica else sentinel.master_for
    client: redis.asyncio.Redis = pick(
        settings.service, redis_class=_AsyncSentinelManaged, retry=_no_retry_async()
    )
    return client


def client_for(settings: BackendSettings) -> Any:
    """The sync client of any topology."""
    if settings.topology == "cluster":
        return LazyCluster(settings)
    if settings.topology == "sentinel":
        return _sentinel_master_sync(settings)
    return sync_client(settings.redis_kwargs)


def async_client_for(settings: BackendSettings) -> Any:
    """The async client of any topology, for the running event loop."""
    if settings.topology == "cluster":
        return async_cluster(settings)
    if settings.topology == "sentinel":
        return _sentinel_master_async(settings)
    return async_client(settings.redis_kwargs)


def reader_for(settings: BackendSettings) -> Any:
    """The sync client for reads from replicas (Sentinel with read_from_replicas), or None;
    a cluster client picks replicas by itself."""
    if settings.topology == "sentinel" and settings.read_from_replicas:
        return _sentinel_master_sync(settings, replica=True)
    return None


def async_reader_for(settings: BackendSettings) -> Any:
    if settings.topology == "sentinel" and settings.read_from_replicas:
        return _sentinel_master_async(settings, replica=True)
    return None


def listener_connector(settings: BackendSettings, cluster: Callable[[], LazyCluster]) -> Any:
    """How the notice listener gets a plain connection that receives every fill notice.

    Standalone: the server. Sentinel: the current master. Cluster: any node, taken in
    turn on each reconnect: a PUBLISH in a cluster reaches the subscribers of every
    node (the cluster bus carries it), and redmemo publishes only when a caller waits.
    """
    if settings.topology == "sentinel":
        return lambda: _sentinel_master_sync(settings)
    if settings.topology != "cluster":
        return lambda: sync_client(settings.redis_kwargs)
    turn = itertools.count()
    kwargs = {k: v for k, v in settings.redis_kwargs.items() if k not in ("read_from_replicas",)}

    def connect() -> redis.Redis:
        try:
            nodes = cluster().nodes()
        except CLIENT_ERRORS:
            nodes = list(settings.nodes)  # the seeds, until the cluster answers again
        host, port = nodes[next(turn) % len(nodes)]
        return sync_client({**kwargs, "host": host, "port": port, "max_connections": 2})

    return connect


def tracking_connector(
    settings: BackendSettings, cluster: Callable[[], LazyCluster]
) -> tuple[Callable[[], list[redis.Redis]], Callable[[], object] | None]:
    """How the near cache's tracker reaches every primary (RESP2 clients, one each), and
    for a cluster, how it learns which primaries there are now.

    Standalone: the server. Sentinel: the master the sentinels name now (asked again on
    each reconnect, so a failover moves tracking to the new master). Cluster: every
    primary, after asking the cluster for its slots again when reconnecting.
    """
    resp2 = {**settings.redis_kwargs, "protocol": 2, "max_connections": 1}
    if settings.topology == "sentinel":
        # A failover ends the connection: Sentinel kills the clients of the master it
        # demotes; the reconnect asks the sentinels for the new one.
        return (lambda: [_sentinel_master_sync(replace(settings, redis_kwargs=resp2))], None)
    if settings.topology != "cluster":
        return (lambda: [sync_client(resp2)], None)
    resp2.pop("read_from_replicas", None)

    def primaries() -> object:
        nodes = cluster().connected().get_primaries()  # type: ignore[no-untyped-call]
        return sorted((node.host, int(node.port)) for node in nodes)

    def connect() -> list[redis.Redis]:
        client = cluster().connected()
        client.nodes_manager.initialize()  # a reconnect may follow a failover
        found = primaries()
        assert isinstance(found, list)
        return [sync_client({**resp2, "host": host, "port": port}) for host, port in found]

    return connect, primaries
