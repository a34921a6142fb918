"""Shared fixtures: a real redis-server for the session, and the same store API seen
through every backend (memory, redis) and every face (sync, async)."""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import redmemo
from redmemo._log import reset_throttle
from tests.support.cluster import LocalCluster, start_cluster
from tests.support.proxy import Proxy
from tests.support.servers import RedisServer, start_redis, valkey_binary


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def valkey_server() -> Iterator[RedisServer]:
    server = start_redis(binary=valkey_binary())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def valkey_url(valkey_server: RedisServer) -> Iterator[str]:
    yield valkey_server.url
    with valkey_server.client() as client:
        client.flushall()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[LocalCluster]:
    """3 masters and 3 replicas, started once per run (marker ``cluster``)."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def valkey_cluster() -> Iterator[LocalCluster]:
    cluster = start_cluster(binary=valkey_binary())
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster_url(redis_cluster: LocalCluster) -> Iterator[str]:
    if len(redis_cluster.alive()) < len(redis_cluster.servers):
        redis_cluster.wait_ok()  # a test before killed a node: wait for its failover
    yield redis_cluster.url
    redis_cluster.flush()


@pytest.fixture
def valkey_cluster_url(valkey_cluster: LocalCluster) -> Iterator[str]:
    if len(valkey_cluster.alive()) < len(valkey_cluster.servers):
        valkey_cluster.wait_ok()
    yield valkey_cluster.url
    valkey_cluster.flush()


# Where each backend parameter's data lives: the fixture giving its URL.
URL_FIXTURES = {
    "redis": "redis_url",
    "valkey": "valkey_url",
    "cluster": "cluster_url",
    "valkey-cluster": "valkey_cluster_url",
}
_SERVER_PARAMS = [
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("valkey", marks=[pytest.mark.redis, pytest.mark.valkey]),
    pytest.param("cluster", marks=[pytest.mark.redis, pytest.mark.cluster]),
    pytest.param(
        "valkey-cluster", marks=[pytest.mark.redis, pytest.mark.cluster, pytest.mark.valkey]
    ),
]


@pytest.fixture(params=[_SERVER_PARAMS[0], _SERVER_PARAMS[2]])
def redis_or_cluster_url(request: pytest.FixtureRequest) -> str:
    """A Redis server, then a Redis Cluster (for slow tests that Valkey adds nothing to)."""
    url: str = request.getfixturevalue(URL_FIXTURES[request.param])
    return url


@pytest.fixture(params=_SERVER_PARAMS)
def server_url(request: pytest.FixtureRequest) -> str:
    """Redis, Valkey, a Redis Cluster and a Valkey cluster in turn."""
    url: str = request.getfixturevalue(URL_FIXTURES[request.param])
    return url


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    yield redis_server.url
    with redis_server.client() as client:
        client.flushall()


@pytest.fixture
def proxy(redis_server: RedisServer, redis_url: str) -> Iterator[Proxy]:
    """A fault proxy in front of the session's redis-server (tests/support/proxy.py)."""
    p = Proxy(redis_server.port)
    yield p
    p.close()


@pytest.fixture(autouse=True)
def _fresh_log_throttle() -> None:
    reset_throttle()


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test() -> Iterator[None]:
    # An unclosed connection warns when it is collected, which, left to chance, happens
    # during some later test. Collecting here makes the test that leaked it fail. What
    # survives is then frozen (left out of later collections), so that each collection
    # looks at one test's objects only: a full collection of the whole session's heap
    # took a tenth of a second, after every one of 1 700 tests.
    yield
    gc.collect()
    gc.freeze()


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    try:
        yield loop
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


class Face:
    """Calls a Cache method by its sync name, through the sync or the async API.

    ``face.get("k")`` is ``cache.get("k")`` for the sync face and
    ``loop.run_until_complete(cache.aget("k"))`` for the async one, so one test body
    checks both faces.
    """

    def __init__(self, cache: redmemo.Cache, mode: str, loop: asyncio.AbstractEventLoop) -> None:
        self.cache = cache
        self.mode = mode
        self.loop = loop

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if self.mode == "sync":
            method: Callable[..., Any] = getattr(self.cache, name)
            return method
        amethod = getattr(self.cache, "a" + name)
        return lambda *args, **kwargs: self.loop.run_until_complete(amethod(*args, **kwargs))

    def close(self) -> None:
        if self.mode == "async":
            self.loop.run_until_complete(self.cache.aclose())
        self.cache.close()


BACKENDS = [pytest.param("memory"), *_SERVER_PARAMS]
FACES = ["sync", "async"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def make_cache(
    request: pytest.FixtureRequest, backend: str
) -> Iterator[Callable[..., redmemo.Cache]]:
    """Build caches on the test's backend; all are closed afterwards."""
    made: list[redmemo.Cache] = []
    url = "memory://"
    if backend != "memory":
        url = request.getfixturevalue(URL_FIXTURES[backend])

    def make(**options: Any) -> redmemo.Cache:
        options.setdefault("namespace", "t" + uuid.uuid4().hex[:8])
        cache = redmemo.Cache(options.pop("url", url), **options)
        made.append(cache)
        return cache

    yield make
    for cache in made:
        cache.close()


@pytest.fixture(params=FACES)
def face(
    request: pytest.FixtureRequest,
    make_cache: Callable[..., redmemo.Cache],
    loop: asyncio.AbstractEventLoop,
) -> Iterator[Callable[..., Face]]:
    """``face(**options)`` gives a fresh cache seen through this test's face."""
    faces: list[Face] = []

    def make(**options: Any) -> Face:
        f = Face(make_cache(**options), request.param, loop)
        faces.append(f)
        return f

    yield make
    for f in faces:
        f.close()


@pytest.fixture
def store(face: Callable[..., Face]) -> Face:
    return face()


@pytest.fixture
def decorate(
    mode: str,
    make_cache: Callable[..., redmemo.Cache],
    loop: asyncio.AbstractEventLoop,
) -> Iterator[Callable[..., Any]]:
    """``decorate(body, cache=None, **options)`` -> a Decorated on this test's face."""
    from tests.support.functions import Decorated

    made: list[redmemo.Cache] = []

    def make(body: Callable[..., Any], cache: redmemo.Cache | None = None, **options: Any) -> Any:
        if cache is None:
            cache = make_cache()
        made.append(cache)
        return Decorated(cache, mode, loop, body, **options)

    yield make
    for cache in made:
        if mode == "async":
            loop.run_until_complete(cache.aclose())
        cache.close()


@pytest.fixture(params=FACES)
def mode(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value
