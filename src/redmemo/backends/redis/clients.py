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
from collections.abc import Mapping
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.connection
import redis.asyncio.retry
import redis.backoff
import redis.connection
import redis.exceptions
import redis.retry

__all__ = ["DEFAULTS", "abandon", "async_client", "pool_timeout", "sync_client"]

# A cache must fail fast: a Redis that does not answer costs the caller a short timeout,
# then the function runs uncached. URL options change each of them.
DEFAULTS: dict[str, Any] = {
    "socket_timeout": 1.0,
    "socket_connect_timeout": 1.0,
    "max_connections": 100,
    "pool_timeout": 1.0,
}


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


def sync_client(settings: Mapping[str, Any]) -> redis.Redis:
    kwargs, size, _, ssl, path = _split(settings)
    kind: Any = redis.connection.Connection
    if path is not None:
        kind = redis.connection.UnixDomainSocketConnection
    elif ssl:
        kind = redis.connection.SSLConnection
    kwargs.setdefault("retry", redis.retry.Retry(redis.backoff.NoBackoff(), 0))
    pool = redis.ConnectionPool(max_connections=size, connection_class=kind, **kwargs)
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
    pool = redis.asyncio.ConnectionPool(max_connections=size, connection_class=kind, **kwargs)
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
