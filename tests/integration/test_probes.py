"""Runs of misses: after two misses in a row, a call asks for the entry or its lease in
one script instead of a GET first, so that each further miss costs two round trips.

Behaviour on every backend and both faces (what such a call finds counts as what it
is: a hit, a stale value that starts one refresh, a miss), and on Redis the commands a
miss costs before and after the run began.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

import redmemo
from tests.support.commands import commands_during
from tests.support.functions import Clock

from .test_invalidation import Counter


def _misses_in_a_row(fn: Any, start: int = 100) -> None:
    for x in range(start, start + 3):
        fn(x)


def test_a_call_after_a_run_of_misses_finds_an_entry_as_a_hit(
    decorate: Callable[..., Any], make_cache: Callable[..., redmemo.Cache], backend: str
) -> None:
    shared: dict[str, Any] = {"namespace": "probe-" + uuid.uuid4().hex[:8]}
    if backend == "memory":  # one store that two caches share, as two processes share Redis
        shared["url"] = "memory://" + shared["namespace"]
    fn = decorate(Counter(), cache=make_cache(**shared), ttl=60)
    other = decorate(Counter(), cache=make_cache(**shared), ttl=60)
    other(7)  # stored by another process
    _misses_in_a_row(fn)
    before = fn.wrapped.stats()
    assert fn(7) == ((7,), 1)  # the other one's value, read by the lease request
    after = fn.wrapped.stats()
    assert after["hits"] == before["hits"] + 1
    assert after["misses"] == before["misses"]
    assert after["fills"] == before["fills"]


def test_a_stale_entry_found_so_is_served_and_refreshed_once(
    mode: str, make_cache: Callable[..., redmemo.Cache], loop: Any
) -> None:
    from tests.support.functions import Decorated

    clock = Clock()
    cache = make_cache(clock=clock)
    body = Counter()
    fn = Decorated(cache, mode, loop, body, ttl=600, refresh=10)
    fn(7)
    clock.advance(20)  # stale now
    _misses_in_a_row(fn)
    assert fn(7) == ((7,), 1)  # served stale...
    deadline = time.monotonic() + 10
    while fn.wrapped.stats()["refreshes"] < 1:  # ...and refreshed in the background
        assert time.monotonic() < deadline, "no refresh"
        if mode == "async":  # the refresh is a task of that loop
            loop.run_until_complete(asyncio.sleep(0.01))
        else:
            time.sleep(0.01)
    assert fn.wrapped.stats()["stale"] == 1
    deadline = time.monotonic() + 10
    while fn(7) != ((7,), 5):  # the refreshed value (calls 2-4 were the misses)
        assert time.monotonic() < deadline, "the refreshed value never arrived"
        time.sleep(0.01)


def test_a_run_of_misses_keeps_computing_each_key_once(decorate: Callable[..., Any]) -> None:
    body = Counter()
    fn = decorate(body, ttl=60)
    for x in range(20):
        assert fn(x) == ((x,), x + 1)
    for x in range(20):
        assert fn(x) == ((x,), x + 1)  # all stored, whichever way they were read
    assert body.calls == 20
    stats = fn.wrapped.stats()
    assert (stats["misses"], stats["hits"], stats["fills"]) == (20, 20, 20)


@pytest.mark.redis
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_miss_after_a_run_of_misses_sends_no_get(
    mode: str, redis_url: str, redis_server: Any, loop: Any
) -> None:
    from tests.support.functions import Decorated

    with redmemo.Cache(redis_url, namespace="probe") as cache:
        fn = Decorated(cache, mode, loop, Counter(), ttl=60)

        def commands(x: int) -> dict[str, int]:
            return commands_during(redis_server, lambda: fn(x))

        first = commands(1)
        commands(2)
        later = [commands(x) for x in range(3, 6)]
        hit = commands(1)
        after_hit = commands(1)
        if mode == "async":
            loop.run_until_complete(cache.aclose())
    # A GET, then the lease and the store scripts (each reads a key inside: get).
    assert first == {"get": 3, "evalsha": 2, "time": 1, "set": 2, "del": 2}
    for costs in later:  # no GET first: the lease script and the store script
        assert costs == {"get": 2, "evalsha": 2, "time": 1, "set": 2, "del": 2}
    assert hit == {"get": 1, "evalsha": 1}  # the lease request found the entry
    assert after_hit == {"get": 1}  # and the run is over: a hit is one GET again


@pytest.mark.redis
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_tagged_function_probes_with_its_registrations(
    mode: str, redis_url: str, redis_server: Any, loop: Any
) -> None:
    from tests.support.functions import Decorated

    with redmemo.Cache(redis_url, namespace="probe-tags") as cache:
        fn = Decorated(cache, mode, loop, Counter(), ttl=60, tags=["t", "u:{values[0]}"])

        def commands(x: int) -> dict[str, int]:
            return commands_during(redis_server, lambda: fn(x))

        fn(0)  # the scripts are loaded
        fn(0)  # a hit: the next misses start a run
        first = commands(1)
        commands(2)
        later = [commands(x) for x in range(3, 6)]
        hit = commands(1)
        if mode == "async":
            loop.run_until_complete(cache.aclose())
    # During the run, the same lease, registrations and store, without the GET first.
    for costs in later:
        assert costs == {**first, "get": first["get"] - 1}
    assert hit["evalsha"] == 3  # the lease request (and its two registrations) found it


def test_a_probed_fill_is_fenced_by_an_invalidation_of_its_tag(
    make_cache: Callable[..., redmemo.Cache],
) -> None:
    cache = make_cache()
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    @cache(ttl=60, tags=["t"])
    def load(x: int) -> tuple[int, int]:
        calls.append(x)
        if x == 99 and len(calls) == 3:
            started.set()
            assert release.wait(10)
        return x, len(calls)

    load(1)
    load(2)  # a run of misses: the next miss probes, registered in "t" as it leases
    worker = threading.Thread(target=load, args=(99,))
    worker.start()
    assert started.wait(10)
    cache.invalidate_tags("t")  # while that computation runs
    release.set()
    worker.join(10)
    # The computation that began before the invalidation did not store its result.
    assert load(99) == (99, 4)
    assert load(99) == (99, 4)
