"""Real conditions: late replies, many concurrent callers, cancelled computations,
invalidation inside one process. Counts are asserted (executions, errors, values),
never wall-clock times."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from typing import Any

import pytest

import redmemo
from tests.support.proxy import Proxy
from tests.support.servers import RedisServer

pytestmark = pytest.mark.redis


# -- a command is never sent twice ----------------------------------------------------------


@pytest.mark.chaos
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_write_whose_reply_comes_late_is_never_sent_again(
    mode: str, proxy: Proxy, redis_server: RedisServer, loop: asyncio.AbstractEventLoop
) -> None:
    cache = redmemo.Cache(proxy.url + "?socket_timeout=200ms", namespace="late")

    def run(name: str, *args: Any) -> Any:
        if mode == "sync":
            return getattr(cache, name)(*args)
        return loop.run_until_complete(getattr(cache, "a" + name)(*args))  # one loop, one pool

    run("set", "n", 10)
    # The command reaches Redis and runs; its reply comes after the client gave up, but
    # soon enough that a retry (which must not happen) would get through.
    proxy.stall(0.35)
    with pytest.raises(redmemo.BackendError, match="may or may not have taken effect"):
        run("increment", "n")
    time.sleep(0.6)
    with redis_server.client() as direct:
        assert direct.get(cache.full_key("n")) == b"11"  # once, not twice
    run("get", "n")  # a warm connection again
    proxy.stall(0.35)
    with pytest.raises(redmemo.BackendError, match="may or may not"):
        run("add", "fresh", "mine")
    time.sleep(0.6)
    assert cache.get("fresh") == "mine"  # stored once
    assert run("add", "fresh", "other") is False
    assert run("increment", "n") == 12
    if mode == "async":
        loop.run_until_complete(cache.aclose())
    cache.close()


@pytest.mark.chaos
def test_a_read_after_a_cut_connection_is_sent_again(proxy: Proxy) -> None:
    cache = redmemo.Cache(proxy.url, namespace="cut")
    cache.set("k", "v")
    proxy.cut()  # the pooled connection is dead; the next read finds out
    assert cache.get("k") == "v"
    cache.close()


# -- many concurrent callers -------------------------------------------------------------------


def _quiet(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.slow
def test_a_thousand_tasks_on_one_cold_key_compute_it_once(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    calls = {"n": 0}

    async def main() -> tuple[list[int], dict[str, int]]:
        cache = redmemo.Cache(redis_url, namespace="crowd1")

        @cache(ttl=60)
        async def load(x: int) -> int:
            calls["n"] += 1
            await asyncio.sleep(0.05)
            return x * 2

        results = await asyncio.gather(*(load(7) for _ in range(1000)))
        stats = load.stats()
        await cache.aclose()
        return results, stats

    with caplog.at_level(logging.WARNING, logger="redmemo"):
        results, stats = asyncio.run(main())
    assert calls["n"] == 1
    assert results == [14] * 1000
    assert stats["errors"] == 0
    assert _quiet(caplog) == []


@pytest.mark.slow
def test_a_thousand_tasks_on_a_thousand_keys_compute_each_once(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    calls: dict[int, int] = {}

    async def main() -> tuple[list[int], dict[str, int]]:
        cache = redmemo.Cache(redis_url, namespace="crowd2")

        @cache(ttl=60)
        async def load(x: int) -> int:
            calls[x] = calls.get(x, 0) + 1
            await asyncio.sleep(0.01)
            return x

        results = await asyncio.gather(*(load(i) for i in range(1000)))
        stats = load.stats()
        await cache.aclose()
        return results, stats

    with caplog.at_level(logging.WARNING, logger="redmemo"):
        results, stats = asyncio.run(main())
    assert results == list(range(1000))
    assert set(calls.values()) == {1}
    assert (stats["errors"], stats["fills"]) == (0, 1000)
    assert _quiet(caplog) == []


@pytest.mark.slow
def test_256_threads_on_256_keys_never_fail_open(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    cache = redmemo.Cache(redis_url, namespace="threads256")
    calls: dict[int, int] = {}
    lock = threading.Lock()

    @cache(ttl=60)
    def load(x: int) -> int:
        with lock:
            calls[x] = calls.get(x, 0) + 1
        time.sleep(0.01)
        return x

    barrier = threading.Barrier(256)
    results: list[int] = []

    def call(i: int) -> None:
        barrier.wait()
        results.append(load(i))

    with caplog.at_level(logging.WARNING, logger="redmemo"):
        threads = [threading.Thread(target=call, args=(i,)) for i in range(256)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert sorted(results) == list(range(256))
    assert set(calls.values()) == {1}
    assert load.stats()["errors"] == 0
    assert _quiet(caplog) == []
    cache.close()


# -- cancellation -------------------------------------------------------------------------------


def test_a_cancelled_computation_gives_its_lease_back_and_joiners_carry_on(
    redis_url: str, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    calls = {"n": 0}

    async def main() -> tuple[list[Any], bytes | None]:
        cache = redmemo.Cache(redis_url, namespace="cancel")
        first_started = asyncio.Event()

        @cache(ttl=60, lease=30)
        async def load(x: int) -> str:
            calls["n"] += 1
            if calls["n"] == 1:
                first_started.set()
                await asyncio.sleep(30)  # a slow request the server times out
            return f"value {x}"

        leader = asyncio.ensure_future(load(1))
        await first_started.wait()
        joiners = [asyncio.ensure_future(load(1)) for _ in range(5)]
        await asyncio.sleep(0.05)  # the joiners wait on the leader's flight
        leader.cancel()
        results = await asyncio.gather(leader, *joiners, return_exceptions=True)
        with redis_server.client() as direct:
            lease = direct.get(cache.keyspace.lease(load.key(1)))
        await cache.aclose()
        return results, lease

    with caplog.at_level(logging.DEBUG, logger="asyncio"):
        results, lease = asyncio.run(main())
    assert isinstance(results[0], asyncio.CancelledError)
    assert results[1:] == ["value 1"] * 5  # nobody cancelled them: they carried on
    assert calls["n"] == 2  # the cancelled computation, and one that replaced it
    assert lease is None  # given back at once, not held for 30 s
    logged = caplog.text
    assert "Task was destroyed" not in logged
    assert "never retrieved" not in logged


def test_a_cancelled_computation_lets_another_process_compute_at_once(redis_url: str) -> None:
    async def main() -> str:
        holder = redmemo.Cache(redis_url, namespace="cancel2")
        other = redmemo.Cache(redis_url, namespace="cancel2")
        started = asyncio.Event()

        async def slow_body(x: int) -> str:
            started.set()
            await asyncio.sleep(30)
            return "never"

        async def quick_body(x: int) -> str:
            return "other"

        def decorate(cache: redmemo.Cache, body: Any) -> Any:
            async def load(x: int) -> str:  # one name: the same function in two processes
                return await body(x)  # type: ignore[no-any-return]

            return cache(ttl=60, lease=30, wait_timeout=30, name="load")(load)

        slow, quick = decorate(holder, slow_body), decorate(other, quick_body)
        assert slow.key(1) == quick.key(1)
        task = asyncio.ensure_future(slow(1))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Without the release, this would wait out the 30 s lease (then fail the test
        # through wait_timeout); with it, the lease is free now.
        result = await asyncio.wait_for(quick(1), timeout=10)
        await holder.aclose()
        await other.aclose()
        return result

    assert asyncio.run(main()) == "other"


# -- read your own invalidation -------------------------------------------------------------------


@pytest.mark.parametrize("how", ["key", "tag", "function", "clear"])
def test_a_call_after_an_invalidation_never_joins_a_computation_from_before(
    how: str, redis_url: str
) -> None:
    async def main() -> tuple[str, str]:
        cache = redmemo.Cache(redis_url, namespace="ryi-" + how)
        version = {"value": "old"}
        gate = asyncio.Event()

        @cache(ttl=60, tags=["t"])
        async def load(x: int) -> str:
            seen = version["value"]
            if seen == "old":
                await gate.wait()
            return seen

        before = asyncio.ensure_future(load(1))
        await asyncio.sleep(0.05)  # its computation runs (and read "old")
        version["value"] = "new"
        if how == "key":
            await load.invalidate(1)
        elif how == "tag":
            await cache.ainvalidate_tags("t")
        elif how == "function":
            await load.invalidate_all()
        else:
            await cache.aclear()
        after = asyncio.ensure_future(load(1))
        await asyncio.sleep(0.05)
        gate.set()
        result = await after, await before
        await cache.aclose()
        return result

    after, before = asyncio.run(main())
    assert before == "old"  # what it computed, for the caller that asked before
    assert after == "new"


# -- leases and waiting --------------------------------------------------------------------------


def test_a_function_that_calls_itself_with_the_same_arguments_is_told_at_once(
    make_cache: Any, mode: str
) -> None:
    cache = make_cache(ttl=60)
    calls = {"n": 0}
    if mode == "sync":

        @cache(wait_timeout=30)
        def again(x: int) -> int:
            calls["n"] += 1
            return again(x)

        with pytest.raises(redmemo.RecursiveCallError, match="calls itself with the same"):
            again(1)
    else:

        @cache(wait_timeout=30)
        async def aagain(x: int) -> int:
            calls["n"] += 1
            return await aagain(x)

        async def main() -> None:
            with pytest.raises(redmemo.RecursiveCallError, match="calls itself"):
                await aagain(1)
            await cache.aclose()

        asyncio.run(main())
    assert calls["n"] == 1  # no wait_timeout per level: at once


def test_recursion_on_other_arguments_is_fine(make_cache: Any, mode: str) -> None:
    cache = make_cache(ttl=60)
    if mode == "sync":

        @cache
        def fib(n: int) -> int:
            return n if n < 2 else fib(n - 1) + fib(n - 2)

        assert fib(20) == 6765
    else:

        @cache
        async def afib(n: int) -> int:
            return n if n < 2 else await afib(n - 1) + await afib(n - 2)

        async def main() -> int:
            try:
                return await afib(20)
            finally:
                await cache.aclose()

        assert asyncio.run(main()) == 6765


@pytest.mark.slow
def test_callers_that_give_up_waiting_compute_once_per_process(redis_url: str) -> None:
    async def main() -> tuple[int, list[str]]:
        holder = redmemo.Cache(redis_url, namespace="giveup")
        waiters = redmemo.Cache(redis_url, namespace="giveup")
        started, release = asyncio.Event(), asyncio.Event()
        fallbacks = {"n": 0}

        async def slow_body(x: int) -> str:
            started.set()
            await release.wait()
            return "holder"

        async def fallback_body(x: int) -> str:
            fallbacks["n"] += 1
            await asyncio.sleep(0.05)
            return "fallback"

        def decorate(cache: redmemo.Cache, body: Any) -> Any:
            async def load(x: int) -> str:
                return await body(x)  # type: ignore[no-any-return]

            return cache(ttl=60, lease=30, wait_timeout=0.3, name="load")(load)

        slow, impatient = decorate(holder, slow_body), decorate(waiters, fallback_body)
        task = asyncio.ensure_future(slow(1))
        await started.wait()
        results = await asyncio.gather(*(impatient(1) for _ in range(50)))
        release.set()
        await task
        await holder.aclose()
        await waiters.aclose()
        return fallbacks["n"], results

    computed, results = asyncio.run(main())
    assert computed == 1  # not 50
    assert results == ["fallback"] * 50


@pytest.mark.chaos
def test_waiters_ask_again_after_notices_were_lost(redis_url: str, proxy: Proxy) -> None:
    holder = redmemo.Cache(redis_url, namespace="lost")
    waiter = redmemo.Cache(proxy.url, namespace="lost")
    started, release = threading.Event(), threading.Event()

    def slow_body(x: int) -> str:
        started.set()
        release.wait(30)
        return "holder's"

    def decorate(cache: redmemo.Cache, body: Any) -> Any:
        def load(x: int) -> str:  # one name: the same function in two processes
            return body(x)  # type: ignore[no-any-return]

        return cache(ttl=60, lease=120, wait_timeout=120, name="load")(load)

    slow = decorate(holder, slow_body)
    impatient = decorate(waiter, lambda x: "waiter's")
    thread = threading.Thread(target=slow, args=(1,))
    thread.start()
    assert started.wait(10)
    outcome: list[str] = []
    waiting = threading.Thread(target=lambda: outcome.append(impatient(1)))
    waiting.start()
    deadline = time.monotonic() + 10
    while impatient.stats()["waits"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # subscribed, and waiting for the holder's notice
    proxy.refuse()
    proxy.cut()  # the listener's connection is gone...
    release.set()
    thread.join(10)  # ...when the holder stores and publishes
    proxy.refuse(False)
    # Without a new question after the reconnect it would sleep until its holder's lease
    # ran out (120 s); the bound here is only there to end the test if it does.
    waiting.join(30)
    assert not waiting.is_alive()
    assert outcome == ["holder's"]
    assert impatient.stats()["errors"] == 0
    holder.close()
    waiter.close()


# -- event loops come and go ---------------------------------------------------------------------


def _connections(server: RedisServer) -> int:
    with server.client() as direct:
        return len(direct.client_list()) - 1  # not this one


def test_a_loop_that_ends_takes_its_clients_with_it(
    redis_url: str, redis_server: RedisServer
) -> None:
    cache = redmemo.Cache(redis_url, namespace="loops")

    @cache(ttl=60)
    async def load(x: int) -> int:
        return x

    async def job(i: int) -> int:
        return sum(await asyncio.gather(*(load(i * 100 + j) for j in range(20))))

    baseline = _connections(redis_server)
    for i in range(30):  # asyncio.run per job, as workers and test runners do
        assert asyncio.run(job(i)) == sum(range(i * 100, i * 100 + 20))
    assert _connections(redis_server) <= baseline + 2  # not 30 loops x their pools
    family = cache._family
    assert family._by_loop == {}
    cache.close()


def test_close_releases_the_clients_of_a_loop_closed_without_shutdown(
    redis_url: str, redis_server: RedisServer
) -> None:
    cache = redmemo.Cache(redis_url, namespace="loops2")
    baseline = _connections(redis_server)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(cache.aset("k", 1))
    loop.close()  # no shutdown_asyncgens: nothing closed the clients
    del loop

    def close_and_collect() -> None:
        cache.close()
        gc.collect()

    with pytest.warns(ResourceWarning):  # asyncio's word on the transports it lost
        close_and_collect()
    assert _connections(redis_server) <= baseline


def test_a_refresh_cut_short_by_its_loop_does_not_block_later_refreshes() -> None:
    from tests.support.functions import Clock

    clock = Clock()
    cache = redmemo.Cache("memory://", namespace="loops3", clock=clock)
    calls = {"n": 0}
    gate = asyncio.Event()

    @cache(ttl=100, refresh=10)
    async def load(x: int) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            await gate.wait()  # the first refresh: its loop is closed under it
        return calls["n"]

    async def call() -> int:
        return await load(1)

    async def call_and_settle() -> int:
        value = await load(1)
        await cache._runtime.background.drain()
        return value

    assert asyncio.run(call()) == 1
    clock.advance(20)
    # Stale: a refresh starts; the loop is closed while it runs (no asyncio.run to
    # cancel it: some frameworks just close their loops).
    loop = asyncio.new_event_loop()
    assert loop.run_until_complete(call()) == 1
    loop.run_until_complete(asyncio.sleep(0.01))  # the refresh is under way
    loop.close()
    assert calls["n"] == 2
    # Its lease, held by a computation that will never end, runs out like any other...
    clock.advance(11)
    # ...and the key, stale, is refreshed in a new loop.
    assert asyncio.run(call_and_settle()) == 1
    assert calls["n"] == 3
    assert asyncio.run(call()) == 3
    cache.close()


# -- outages: the circuit breaker ------------------------------------------------------------------


@pytest.mark.chaos
@pytest.mark.slow
def test_while_redis_hangs_calls_skip_it_and_hits_resume_when_it_returns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import os
    import signal

    from tests.support.servers import start_redis

    server = start_redis()  # our own: it is paused
    try:
        seen: list[Any] = []
        cache = redmemo.Cache(
            server.url + "?socket_timeout=200ms&socket_connect_timeout=200ms",
            namespace="hang",
            hooks=[seen.append],
        )

        @cache(ttl=60)
        def load(x: int) -> int:
            return x * 3

        assert load(1) == 3
        assert load(1) == 3  # a hit
        results: list[int] = []
        errors: list[BaseException] = []

        def caller() -> None:
            for _ in range(50):
                try:
                    results.append(load(1))
                except BaseException as exc:
                    errors.append(exc)
                time.sleep(0.01)

        os.kill(server.process.pid, signal.SIGSTOP)
        try:
            with caplog.at_level(logging.WARNING, logger="redmemo"):
                threads = [threading.Thread(target=caller) for _ in range(8)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(60)
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        assert errors == []
        assert results == [3] * 400  # every caller answered, with the right value
        timed_out = [
            e
            for e in seen
            if isinstance(e, redmemo.events.BackendFailure)
            and not isinstance(e.error, redmemo.CircuitOpenError)
        ]
        # Without the breaker all 400 calls would wait out a timeout; with it, the
        # calls in flight when it opened, and one probe per reset period.
        assert len(timed_out) <= 40
        assert cache.breaker is not None
        assert cache.breaker.short_circuited >= 300
        assert any(isinstance(e, redmemo.events.BreakerOpened) for e in seen)
        assert "unreachable" in caplog.text
        # Redis is back: within a bounded number of calls, hits again.
        hits_before = load.stats()["hits"]
        for _ in range(500):
            load(1)
            if load.stats()["hits"] > hits_before:
                break
            time.sleep(0.01)
        assert load.stats()["hits"] > hits_before
        assert any(isinstance(e, redmemo.events.BreakerClosed) for e in seen)
        cache.close()
    finally:
        server.stop()


@pytest.mark.redis
def test_an_error_redis_answers_with_does_not_open_the_breaker(redis_url: str) -> None:
    cache = redmemo.Cache(redis_url, namespace="answered")
    for _ in range(10):
        with pytest.raises(redmemo.BackendError, match="unknown command"):
            cache.raw("NOSUCHCOMMAND")
    assert cache.breaker is not None
    assert cache.breaker.state is redmemo.BreakerState.CLOSED
    cache.close()


# -- errors that name their cause, and data that is not ours -----------------------------------


@pytest.mark.redis
def test_a_key_of_another_type_is_a_miss_and_the_fill_repairs_it(redis_url: str) -> None:
    cache = redmemo.Cache(redis_url, namespace="wrongtype")
    calls = {"n": 0}

    @cache(key="item:{i}", ttl=60)
    def item(i: int) -> int:
        calls["n"] += 1
        return i

    cache.raw("LPUSH", cache.full_key("item:1"), "not an entry")
    assert cache.get("item:1") is None  # a miss, as foreign bytes are
    assert [item(1), item(1), item(1)] == [1, 1, 1]
    assert calls["n"] == 1  # computed once, then served: the entry replaced the list
    assert item.stats()["errors"] == 0
    cache.close()


def test_a_key_with_a_lone_surrogate_is_stored_and_found(make_cache: Any) -> None:
    cache = make_cache()
    name = "file-\udcff.txt"  # what os.fsdecode gives for an undecodable byte

    @cache(key="f:{name}", ttl=60, tags=["t:{name}"])
    def size(name: str) -> int:
        return len(name)

    assert size(name) == 10
    assert cache.get("f:" + name) == 10
    assert cache.keyspace.body(size.key(name)) == "f:" + name
    assert cache.invalidate_tags("t:" + name) == 1
    cache.set(name, "v")
    assert cache.get(name) == "v"


@pytest.mark.parametrize("ttl", [1e20, 1e39, "200000w"])
def test_a_ttl_that_cannot_be_stored_is_refused_when_decorating(make_cache: Any, ttl: Any) -> None:
    cache = make_cache()
    with pytest.raises(redmemo.InvalidTTLError, match="at most 100 years"):
        cache(ttl=ttl)
    with pytest.raises(redmemo.InvalidTTLError, match="at most 100 years"):
        cache.set("k", 1, ttl=ttl)


@pytest.mark.slow
def test_a_function_slower_than_its_lease_keeps_it_and_stores(
    decorate: Any, make_cache: Any
) -> None:
    calls = {"n": 0}

    def slow(x: int) -> int:
        calls["n"] += 1
        time.sleep(1.0)  # more than three leases
        return x

    fn = decorate(slow, ttl=60, lease=0.3, refresh=0.2)
    assert fn(1) == 1
    assert fn.wrapped.stats()["fills"] == 1  # stored, not "overtaken"
    assert fn.wrapped.stats()["overtaken"] == 0
    assert fn(1) == 1
    assert calls["n"] == 1


def _gets(server: RedisServer) -> int:
    with server.client() as direct:
        return int(direct.info("commandstats").get("cmdstat_get", {"calls": 0})["calls"])


def test_concurrent_readers_of_one_key_share_one_get(
    redis_url: str, redis_server: RedisServer
) -> None:
    async def main() -> list[int]:
        cache = redmemo.Cache(redis_url, namespace="readers")

        @cache(ttl=60)
        async def load(x: int) -> int:
            return x + 1

        await load(1)  # warm: from now on, hits
        before = _gets(redis_server)
        results = await asyncio.gather(*(load(1) for _ in range(500)))
        sent = _gets(redis_server) - before
        await cache.aclose()
        return [*results, sent]

    *results, sent = asyncio.run(main())
    assert results == [2] * 500
    assert sent <= 25  # not 500: the tasks that came while a GET was out shared it


def test_a_read_in_flight_is_not_shared_after_an_invalidation() -> None:
    from redmemo.coordination.reads import Reads

    reads = Reads()
    waiting = reads.lead("k")
    assert waiting is not None
    assert reads.lead("k") is None  # in flight: a follower
    reads.forget()  # an invalidation returned
    assert reads.follow("k") is None  # a reader from now on reads for itself
    reads.finish("k", waiting, b"old")  # the old read ends quietly
    mine = reads.lead("k")
    assert mine is not None
    reads.finish("k", mine, b"new")


# -- invalidation while Redis is down ------------------------------------------------------------


@pytest.mark.chaos
def test_an_invalidation_during_an_outage_raises_by_default(proxy: Proxy) -> None:
    cache = redmemo.Cache(proxy.url, namespace="inv-raise", breaker=False)

    @cache(ttl=60, tags=["t"])
    def load(x: int) -> int:
        return x

    load(1)
    proxy.refuse()
    proxy.cut()
    with pytest.raises(redmemo.BackendError):
        cache.invalidate_tags("t")
    proxy.refuse(False)
    cache.close()


@pytest.mark.chaos
@pytest.mark.parametrize("how", ["key", "tag", "function", "pattern", "clear"])
def test_an_invalidation_kept_during_an_outage_lands_and_nothing_stale_is_served(
    how: str, proxy: Proxy
) -> None:
    cache = redmemo.Cache(proxy.url, namespace="inv-" + how, invalidation="retry", breaker=False)
    version = {"value": "old"}

    @cache(key="item:{x}", ttl=60, tags=["t"])
    def load(x: int) -> str:
        return version["value"]

    assert load(1) == "old"
    proxy.refuse()
    proxy.cut()
    version["value"] = "new"
    if how == "key":
        assert cache.invalidate("item:1") == 0  # kept: no error for the writer
    elif how == "tag":
        assert cache.invalidate_tags("t") == 0
    elif how == "function":
        assert load.invalidate_all() == 0
    elif how == "pattern":
        assert cache.invalidate_pattern("item:*") == 0
    else:
        assert cache.clear() == 0
    assert len(cache._runtime.pending) == 1
    proxy.refuse(False)  # Redis is back, the entry "old" is still in it...
    assert load(1) == "new"  # ...but not served while the invalidation is pending
    deadline = time.monotonic() + 20
    while len(cache._runtime.pending) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(cache._runtime.pending) == 0  # it landed
    assert load(1) == "new"
    assert load(1) == "new"
    assert load.stats()["hits"] >= 1  # cached again, with the new value
    cache.close()


@pytest.mark.chaos
@pytest.mark.slow
def test_a_server_killed_and_restarted_costs_no_caller_an_error() -> None:
    from tests.support.servers import start_redis

    server = start_redis()
    port = server.port
    try:
        cache = redmemo.Cache(server.url + "?socket_timeout=200ms", namespace="killed")

        @cache(ttl=60)
        def load(x: int) -> int:
            return x * 7

        assert load(3) == 21
        server.process.kill()  # kill -9 of the process we started
        server.process.wait()
        answers = [load(3) for _ in range(200)]  # no Redis at all
        assert answers == [21] * 200
        assert cache.breaker is not None
        assert cache.breaker.opened >= 1
        server = start_redis(port=port)  # back, empty, on the same port
        hits_before = load.stats()["hits"]
        for _ in range(500):
            assert load(3) == 21
            if load.stats()["hits"] > hits_before:
                break
            time.sleep(0.01)
        assert load.stats()["hits"] > hits_before  # filled again, then hits
        assert cache.breaker.state is redmemo.BreakerState.CLOSED
        cache.close()
    finally:
        server.stop()
