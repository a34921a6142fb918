"""Redis clients built for a cache: a pool that waits (bounded) for a free connection
instead of failing, and no retry that could repeat a command whose effect may already
have happened.

redis-py's default pool raises ``MaxConnectionsError`` past its limit, so a burst of
concurrent callers would fail open and compute uncached while Redis is healthy. Its
default retry re-sends a command after a timeout, so an ``INCRBY`` could count twice.
Here the pool blocks for at most ``pool_timeout`` and the client retries nothing; the
backend retries only reads, and only when the connection failed before an answer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.connection
import redis.asyncio.retry
import redis.backoff
import redis.connection
import redis.retry

__all__ = ["DEFAULTS", "abandon", "async_client", "sync_client"]

# A cache must fail fast: a Redis that does not answer costs the caller a short timeout,
# then the function runs uncached. URL options change each of them.
DEFAULTS: dict[str, Any] = {
    "socket_timeout": 1.0,
    "socket_connect_timeout": 1.0,
    "max_connections": 100,
    "pool_timeout": 1.0,
}


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


def sync_client(settings: Mapping[str, Any]) -> redis.Redis:
    kwargs, size, wait, ssl, path = _split(settings)
    kind: Any = redis.connection.Connection
    if path is not None:
        kind = redis.connection.UnixDomainSocketConnection
    elif ssl:
        kind = redis.connection.SSLConnection
    kwargs.setdefault("retry", redis.retry.Retry(redis.backoff.NoBackoff(), 0))
    pool = redis.BlockingConnectionPool(  # type: ignore[no-untyped-call]
        max_connections=size, timeout=wait, connection_class=kind, **kwargs
    )
    client = redis.Redis(connection_pool=pool)
    client.auto_close_connection_pool = True  # the pool is the client's alone: close both
    return client


def async_client(settings: Mapping[str, Any]) -> redis.asyncio.Redis:
    kwargs, size, wait, ssl, path = _split(settings)
    kind: Any = redis.asyncio.connection.Connection
    if path is not None:
        kind = redis.asyncio.connection.UnixDomainSocketConnection
    elif ssl:
        kind = redis.asyncio.connection.SSLConnection
    kwargs.setdefault("retry", redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), 0))
    pool = redis.asyncio.BlockingConnectionPool(
        max_connections=size, timeout=wait, connection_class=kind, **kwargs
    )
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
