"""The decorator on every backend, through sync and async functions."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

import redmemo
from tests.support.functions import Clock


class Body:
    """A function body that counts its calls and can be told what to return or raise."""

    def __init__(self, result: Any = "value") -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.result = result
        self.error: Exception | None = None
        self.lock = threading.Lock()

    def __call__(self, a: Any = 0, b: Any = 2) -> Any:
        with self.lock:
            self.calls.append((a, b))
        if self.error is not None:
            raise self.error
        return self.result(a, b) if callable(self.result) else self.result


def test_a_hit_does_not_call_the_function(decorate: Callable[..., Any]) -> None:
    body = Body(lambda a, b: [a, b])
    fn = decorate(body, ttl=60)
    assert fn(1) == [1, 2]
    assert fn(1) == [1, 2]
    assert len(body.calls) == 1
    assert fn.wrapped.stats()["hits"] == 1
    assert fn.wrapped.stats()["fills"] == 1


def test_none_is_cached_like_any_value(decorate: Callable[..., Any]) -> None:
    body = Body(None)
    fn = decorate(body, ttl=60)
    assert fn(1) is None
    assert fn(1) is None
    assert len(body.calls) == 1


def test_equivalent_calls_share_one_entry(decorate: Callable[..., Any]) -> None:
    body = Body(lambda a, b: a + b)
    fn = decorate(body, ttl=60)
    assert fn(1, b=2) == fn(1, 2) == fn(a=1, b=2) == fn(1) == 3
    assert len(body.calls) == 1
    assert fn(1, 3) == 4
    assert len(body.calls) == 2


def test_a_stale_value_is_served_while_one_refresh_runs(
    decorate: Callable[..., Any], make_cache: Callable[..., redmemo.Cache]
) -> None:
    clock = Clock()
    body = Body("v1")
    fn = decorate(body, cache=make_cache(clock=clock), ttl=100, refresh=10)
    assert fn(1) == "v1"
    body.result = "v2"
    clock.advance(20)  # past refresh, before ttl
    assert fn(1) == "v1"  # stale, served at once
    assert fn.settle(lambda: fn.wrapped.stats()["refreshes"] == 1 and len(body.calls) == 2)
    assert fn.settle(lambda: fn(1) == "v2")
    assert len(body.calls) == 2  # one refresh, not one per stale call
    stats = fn.wrapped.stats()
    assert stats["stale"] >= 1
    assert stats["refreshes"] == 1


def test_a_value_past_its_ttl_is_never_served(
    decorate: Callable[..., Any], make_cache: Callable[..., redmemo.Cache]
) -> None:
    clock = Clock()
    body = Body("v1")
    fn = decorate(body, cache=make_cache(clock=clock), ttl=100, refresh=10)
    fn(1)
    body.result = "v2"
    clock.advance(150)
    assert fn(1) == "v2"
    assert len(body.calls) == 2


def test_exceptions_reach_the_caller_and_are_never_cached(decorate: Callable[..., Any]) -> None:
    body = Body("ok")
    body.error = KeyError("boom")
    fn = decorate(body, ttl=60)
    with pytest.raises(KeyError, match="boom"):
        fn(1)
    body.error = None
    assert fn(1) == "ok"
    assert len(body.calls) == 2
    assert fn.wrapped.stats()["failures"] == 1


def test_stale_if_error_serves_the_last_value_when_the_fill_fails(
    decorate: Callable[..., Any], make_cache: Callable[..., redmemo.Cache]
) -> None:
    clock = Clock()
    body = Body("v1")
    fn = decorate(body, cache=make_cache(clock=clock), ttl=100, stale_if_error=1000)
    fn(1)
    clock.advance(150)  # past ttl, within the grace
    body.error = RuntimeError("backend of the function is down")
    assert fn(1) == "v1"
    assert fn.wrapped.stats()["failures"] == 1
    body.error = None
    body.result = "v2"
    assert fn(1) == "v2"


def test_without_stale_if_error_a_failing_fill_raises(
    decorate: Callable[..., Any], make_cache: Callable[..., redmemo.Cache]
) -> None:
    clock = Clock()
    body = Body("v1")
    fn = decorate(body, cache=make_cache(clock=clock), ttl=100)
    fn(1)
    clock.advance(150)
    body.error = RuntimeError("down")
    with pytest.raises(RuntimeError, match="down"):
        fn(1)


def test_wait_false_returns_the_default_and_fills_in_the_background(
    decorate: Callable[..., Any],
) -> None:
    body = Body("computed")
    fn = decorate(body, ttl=60, wait=False, default="placeholder")
    assert fn(1) == "placeholder"
    assert fn.settle(lambda: fn(1) == "computed")
    assert len(body.calls) == 1
    assert fn.wrapped.stats()["defaults"] >= 1


def test_skip_bypasses_the_cache(decorate: Callable[..., Any]) -> None:
    body = Body("v")
    fn = decorate(body, ttl=60, skip=lambda bound: bound.arguments["a"] is None)
    fn(None)
    fn(None)
    assert len(body.calls) == 2
    fn(1)
    fn(1)
    assert len(body.calls) == 3
    always = decorate(Body("v"), ttl=60, skip=True)
    always(1)
    always(1)
    assert always.wrapped.stats()["hits"] == 0


def test_unless_keeps_a_result_out_of_the_cache(decorate: Callable[..., Any]) -> None:
    body = Body(lambda a, b: a)
    fn = decorate(body, ttl=60, unless=lambda result: result < 0)
    fn(-1)
    fn(-1)
    assert len(body.calls) == 2
    fn(5)
    fn(5)
    assert len(body.calls) == 3


def test_a_disabled_cache_calls_straight_through(
    decorate: Callable[..., Any], make_cache: Callable[..., redmemo.Cache]
) -> None:
    body = Body("v")
    fn = decorate(body, cache=make_cache(enabled=False), ttl=60)
    fn(1)
    fn(1)
    assert len(body.calls) == 2


def test_refresh_recomputes_and_stores(decorate: Callable[..., Any]) -> None:
    body = Body("v1")
    fn = decorate(body, ttl=60)
    fn(1)
    body.result = "v2"
    assert fn.refresh(1) == "v2"
    assert fn(1) == "v2"
    assert len(body.calls) == 2


def test_invalidate_forgets_one_call(decorate: Callable[..., Any]) -> None:
    body = Body(lambda a, b: (a, len(body.calls)))
    fn = decorate(body, ttl=60)
    first_one, first_two = fn(1), fn(2)
    assert fn.invalidate(1) is True
    assert fn.invalidate(1) is False
    assert fn(1) != first_one
    assert fn(2) == first_two


def test_version_moves_every_key(decorate: Callable[..., Any]) -> None:
    cache_body = Body("v")
    v1 = decorate(cache_body, ttl=60, version=1)
    v2 = decorate(cache_body, cache=v1.cache, ttl=60, version=2)
    assert v1.wrapped.key(1) != v2.wrapped.key(1)
    v1(1)
    v2(1)
    assert len(cache_body.calls) == 2


def test_concurrent_callers_in_one_process_share_one_computation(
    mode: str, make_cache: Callable[..., redmemo.Cache], loop: Any
) -> None:
    import asyncio
    import time

    cache = make_cache()
    calls = []

    if mode == "sync":

        @cache(ttl=60)
        def slow(x: int) -> int:
            calls.append(x)
            time.sleep(0.2)
            return x * 10

        results: list[int] = []
        threads = [threading.Thread(target=lambda: results.append(slow(4))) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:

        @cache(ttl=60)
        async def aslow(x: int) -> int:
            calls.append(x)
            await asyncio.sleep(0.2)
            return x * 10

        async def many() -> list[int]:
            return list(await asyncio.gather(*(aslow(4) for _ in range(8))))

        results = loop.run_until_complete(many())
        loop.run_until_complete(cache.aclose())
    assert results == [40] * 8
    assert calls == [4]


def test_the_backend_failing_calls_the_function_uncached(
    decorate: Callable[..., Any],
) -> None:
    from tests.support.servers import free_port

    port = free_port()  # nothing listens there
    down = redmemo.Cache(f"redis://127.0.0.1:{port}/0?socket_connect_timeout=0.2", namespace="d")
    body = Body("still works")
    fn = decorate(body, cache=down, ttl=60)
    assert fn(1) == "still works"
    assert fn(1) == "still works"
    assert len(body.calls) == 2
    assert fn.wrapped.stats()["errors"] == 2
