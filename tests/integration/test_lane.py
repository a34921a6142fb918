"""Single commands on kept connections (backends/_async/lane.py): fewer trips to
redis-py's pool, the pool's bound kept, and nothing sent on a connection known dead."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

import redmemo
from tests.support.proxy import Proxy
from tests.support.servers import RedisServer

pytestmark = pytest.mark.redis


def _runner(mode: str, loop: asyncio.AbstractEventLoop) -> Callable[..., Any]:
    """Call a cache's method in the mode under test (async: always on the same loop, so
    on the same pool)."""

    def run(target: Any, name: str, *args: Any) -> Any:
        if mode == "sync":
            return getattr(target, name)(*args)
        return loop.run_until_complete(getattr(target, "a" + name)(*args))

    return run


def _pool(cache: redmemo.Cache, mode: str, loop: asyncio.AbstractEventLoop) -> Any:
    """The redis-py pool under the cache's backend (async: the loop's)."""
    runtime = cache._runtime
    if mode == "sync":
        backend: Any = runtime.sync_backend()
    else:

        async def current() -> Any:
            return runtime.async_backend()

        backend = loop.run_until_complete(current())
    while hasattr(backend, "inner"):
        backend = backend.inner
    return backend.client.connection_pool


def _doubling(
    cache: redmemo.Cache, mode: str, loop: asyncio.AbstractEventLoop, **options: Any
) -> tuple[Any, Callable[[int], int], list[int]]:
    """A decorated function (of the mode) doubling x; a plain call of it; its calls."""
    calls: list[int] = []

    if mode == "sync":

        @cache(ttl=60, **options)
        def load(x: int) -> int:
            calls.append(x)
            return x * 2

    else:

        @cache(ttl=60, **options)
        async def load(x: int) -> int:
            calls.append(x)
            return x * 2

    def call(x: int) -> int:
        if mode == "sync":
            return load(x)  # type: ignore[return-value]
        return loop.run_until_complete(load(x))  # type: ignore[arg-type]

    return load, call, calls


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_commands_in_a_row_take_a_connection_from_the_pool_once(
    mode: str, redis_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    cache = redmemo.Cache(redis_url, namespace=f"lane-{mode}")
    run = _runner(mode, loop)
    run(cache, "set", "warm", 1)  # the pool exists now
    pool = _pool(cache, mode, loop)
    taken: list[int] = []
    get_connection = pool.get_connection

    def counting(*args: Any, **kwargs: Any) -> Any:
        taken.append(1)
        return get_connection(*args, **kwargs)

    pool.get_connection = counting
    for i in range(100):
        run(cache, "set", f"k{i}", i)
    assert [run(cache, "get", f"k{i}") for i in range(100)] == list(range(100))
    assert len(taken) <= 1  # 200 commands, one connection taken (at most) and kept
    if mode == "async":
        loop.run_until_complete(cache.aclose())
    cache.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_pool_that_ran_out_takes_back_the_kept_connection(
    mode: str, redis_url: str, loop: asyncio.AbstractEventLoop
) -> None:
    cache = redmemo.Cache(redis_url + "?max_connections=1", namespace=f"lane-out-{mode}")
    run = _runner(mode, loop)
    load, call, calls = _doubling(cache, mode, loop)
    assert call(1) == 2  # the lane now keeps the pool's only connection
    # A SCAN and a pipeline of deletions need a connection of the pool's own.
    if mode == "sync":
        assert load.invalidate_all() == 1
    else:
        assert loop.run_until_complete(load.invalidate_all()) == 1
    assert call(1) == 2
    assert calls == [1, 1]  # invalidated, so computed again
    assert run(cache, "get", "nothing") is None  # and the lane carries on
    if mode == "async":
        loop.run_until_complete(cache.aclose())
    cache.close()


@pytest.mark.chaos
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_write_is_not_sent_on_a_kept_connection_the_server_closed(
    mode: str, proxy: Proxy, redis_server: RedisServer, loop: asyncio.AbstractEventLoop
) -> None:
    cache = redmemo.Cache(proxy.url, namespace=f"lane-cut-{mode}")
    run = _runner(mode, loop)
    run(cache, "set", "a", 1)
    proxy.cut()  # the kept connection is closed from the far side
    if mode == "async":
        # As in a running service, the loop gets to see the close before the next call.
        loop.run_until_complete(asyncio.sleep(0.1))
    # A write is sent at most once, so it must not go out on the dead connection and
    # fail there ("may or may not have taken effect"): a fresh one carries it.
    run(cache, "set", "b", 2)
    with redis_server.client() as direct:
        assert direct.get(cache.full_key("b")) is not None
    assert run(cache, "get", "b") == 2
    if mode == "async":
        loop.run_until_complete(cache.aclose())
    cache.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_scripts_the_server_forgot_are_loaded_again_alone_and_in_pipelines(
    mode: str, redis_url: str, redis_server: RedisServer, loop: asyncio.AbstractEventLoop
) -> None:
    cache = redmemo.Cache(redis_url, namespace=f"lane-flush-{mode}")
    calls: list[str] = []

    def body(kind: str, x: int) -> int:
        calls.append(f"{kind}{x}")
        return x

    if mode == "sync":
        plain = cache(ttl=60, name="plain")(lambda x: body("plain", x))
        tagged = cache(ttl=60, name="tagged", tags=["t"])(lambda x: body("tagged", x))
    else:

        async def aplain(x: int) -> int:
            return body("plain", x)

        async def atagged(x: int) -> int:
            return body("tagged", x)

        plain = cache(ttl=60, name="plain")(aplain)
        tagged = cache(ttl=60, name="tagged", tags=["t"])(atagged)

    def call(fn: Any, x: int) -> Any:
        return fn(x) if mode == "sync" else loop.run_until_complete(fn(x))

    assert (call(plain, 1), call(tagged, 1)) == (1, 1)  # the scripts are loaded
    with redis_server.client() as direct:
        direct.script_flush()  # as a restarted or flushed server would have it
    # A lone script (the plain miss) and a pipeline of them (the tagged miss's lease
    # with its registration) each find NOSCRIPT, load the script and run it once.
    assert (call(plain, 2), call(tagged, 2)) == (2, 2)
    assert (call(plain, 2), call(tagged, 2)) == (2, 2)  # stored: hits
    assert calls == ["plain1", "tagged1", "plain2", "tagged2"]
    if mode == "async":
        loop.run_until_complete(cache.aclose())
    cache.close()


@pytest.mark.slow
def test_an_async_write_the_paused_server_cannot_take_ends_in_its_timeout() -> None:
    """The lane writes async commands itself (backends/redis/wire.py) and waits for the
    stream only when its buffer is full: that wait is bounded by the socket timeout, as
    redis-py bounds it. A value of 64 MB fills the socket and the stream's buffer of a
    server that reads nothing (SIGSTOP)."""
    import os
    import signal

    from tests.support.servers import start_redis

    server = start_redis()  # our own: it is paused
    try:
        cache = redmemo.Cache(server.url + "?socket_timeout=300ms", namespace="full")

        async def scenario() -> None:
            await cache.aset("small", 1)  # the connection is open
            os.kill(server.process.pid, signal.SIGSTOP)
            try:
                with pytest.raises(redmemo.BackendError) as raised:
                    # A hang here fails the test instead of stalling the suite.
                    await asyncio.wait_for(cache.aset("big", b"x" * (64 << 20)), 60)
                assert "Timeout writing to socket" in str(raised.value)
            finally:
                os.kill(server.process.pid, signal.SIGCONT)
            assert await cache.aget("small") == 1  # the next command goes through

        asyncio.run(scenario())
        cache.close()
    finally:
        server.stop()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_without_hiredis_redis_py_packs_single_commands_and_pipelines(
    mode: str, redis_url: str, loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lane packs with hiredis when it can; without it, redis-py's packer sends the
    same commands: a miss (its lease in a pipeline of scripts, its store), a hit, an
    invalidation."""
    from redmemo.backends._async import lane as async_lane
    from redmemo.backends._sync import lane as sync_lane

    monkeypatch.setattr(async_lane, "_hiredis_pack", None)
    monkeypatch.setattr(sync_lane, "_hiredis_pack", None)
    cache = redmemo.Cache(redis_url, namespace=f"lane-plain-{mode}")
    run = _runner(mode, loop)
    _, call, calls = _doubling(cache, mode, loop, tags=["t{x}"])
    assert [call(x) for x in (1, 2, 3, 1, 2, 3)] == [2, 4, 6, 2, 4, 6]
    assert calls == [1, 2, 3]  # stored, then found
    run(cache, "invalidate_tags", ["t2"])
    assert call(2) == 4
    assert calls == [1, 2, 3, 2]
    backend = _pool(cache, mode, loop)  # the pool the lane draws on
    assert backend.spare is not None  # a lane was made on it, packing without hiredis
    if mode == "async":
        loop.run_until_complete(cache.aclose())
    cache.close()
