"""Early refresh through the decorator, giving up a wait, and life after fork."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import redmemo
from tests.support.functions import Clock


def test_early_refresh_recomputes_a_hot_key_before_it_turns_stale(
    decorate: Callable[..., Any], make_cache: Callable[..., redmemo.Cache]
) -> None:
    clock = Clock()
    versions = iter(range(1, 100))

    def load(x: int) -> int:
        time.sleep(0.02)  # the compute time that early refresh weighs
        return next(versions)

    fn = decorate(load, cache=make_cache(clock=clock), ttl=100, refresh=50, early=1e6)
    assert fn(1) == 1
    clock.advance(49)  # still fresh, but close to refresh with a large beta
    assert fn(1) == 1  # served at once...
    assert fn.settle(lambda: fn.wrapped.stats()["refreshes"] == 1)
    assert fn.settle(lambda: fn(1) == 2)  # ...and refreshed before turning stale


def test_without_early_refresh_a_fresh_value_is_left_alone(
    decorate: Callable[..., Any], make_cache: Callable[..., redmemo.Cache]
) -> None:
    clock = Clock()
    fn = decorate(lambda x: time.time(), cache=make_cache(clock=clock), ttl=100, refresh=50)
    first = fn(1)
    clock.advance(49)
    assert fn(1) == first
    fn.quiesce()  # a refresh wrongly started would have ended by now, on any backend
    assert fn.wrapped.stats()["refreshes"] == 0
    assert fn(1) == first


@pytest.mark.redis
def test_a_waiter_gives_up_after_wait_timeout_and_computes_by_itself(server_url: str) -> None:
    redis_url = server_url
    with (
        redmemo.Cache(redis_url, namespace="give-up") as first,
        redmemo.Cache(redis_url, namespace="give-up") as second,
    ):
        started, release = threading.Event(), threading.Event()

        def slow(x: int) -> str:
            started.set()
            release.wait(30)
            return "holder's"

        def quick(x: int) -> str:
            return "waiter's"

        slow.__qualname__ = quick.__qualname__ = "shared"
        holder_fn = first(ttl=60, lease=30)(slow)
        waiter_fn = second(ttl=60, lease=30, wait_timeout=0.2)(quick)
        holder = threading.Thread(target=holder_fn, args=(1,))
        holder.start()
        assert started.wait(10)
        assert waiter_fn(1) == "waiter's"  # gave up waiting, computed by itself...
        release.set()
        holder.join(10)
        assert waiter_fn(1) == "holder's"  # ...without storing over the lease holder


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_background_refreshes_still_run_in_a_forked_child() -> None:
    clock = Clock()
    cache = redmemo.Cache("memory://", namespace="fork", clock=clock)
    versions = iter(range(1, 100))
    fn = cache(ttl=100, refresh=10)(lambda x: next(versions))
    fn(1)
    clock.advance(20)
    fn(1)  # starts the refresh pool in the parent
    deadline = time.monotonic() + 10
    while fn.stats()["refreshes"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a stale value must still be refreshed in the background
        try:
            clock.advance(20)
            fn(1)
            deadline = time.monotonic() + 10
            while fn.stats()["refreshes"] < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            os.write(write, str(fn.stats()["refreshes"]).encode())
        finally:
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    answer = os.read(read, 16)
    os.close(read)
    assert status == 0
    assert answer == b"2"
    cache.close()
