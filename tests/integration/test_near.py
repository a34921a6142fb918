"""The near cache (``Cache(url, near=...)``): copies served without Redis, and never after
Redis said they changed.

Every test runs on real servers: Redis, Valkey, a Redis cluster and a Valkey cluster
(``backend``), sync and async (``mode``). "Another process" is a second ``Cache`` with a
tracker of its own (in-process, so the test can order steps), or a real subprocess where
the test is about processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import redis

import redmemo
from redmemo.backends.redis.tracking import CLIENT_NAME
from redmemo.errors import ConfigurationError
from redmemo.events import CommandTiming, Hit, NearEvicted, NearFlushed
from tests.conftest import _SERVER_PARAMS
from tests.support.functions import Decorated
from tests.support.servers import start_redis
from tests.support.spawn import ROOT

pytestmark = pytest.mark.redis


@pytest.fixture(params=_SERVER_PARAMS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


class Recorder:
    """A hook that keeps every event, and asks for backend timings (to see commands)."""

    wants_timings = True

    def __init__(self) -> None:
        self.events: list[Any] = []

    def __call__(self, event: Any) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if type(e) is kind]

    def commands(self) -> list[str]:
        return [e.operation for e in self.of(CommandTiming)]


def tracked(cache: redmemo.Cache) -> redmemo.Cache:
    """Start the cache's tracking (a read starts it) and wait until it is subscribed."""
    assert cache.near is not None
    cache.get("warm-up")
    assert cache.near.connected.wait(10), "tracking did not start"
    return cache


def until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


def copied(call: Callable[[], Any], key: str, cache: redmemo.Cache) -> Any:
    """Call until the reply is kept as a copy. A read is not kept when an invalidation
    arrives while it is in flight, and the invalidation of this process's own last write
    may be the one (it is sent when the write runs, and read by the tracker when it comes):
    first wait for every invalidation sent so far (a barrier), so that none comes late."""
    settle(cache)
    value = call()
    deadline = time.monotonic() + 10
    while key not in cache.near:  # type: ignore[operator]
        assert time.monotonic() < deadline, "never kept"
        time.sleep(0.002)
        value = call()
    return value


def settle(cache: redmemo.Cache) -> None:
    """Wait until every invalidation Redis sent so far has reached the near cache."""
    assert cache._near is not None
    assert cache._near.tracker.barrier().result(10)


def counter() -> Callable[[int], dict[str, int]]:
    calls: list[int] = []

    def body(x: int) -> dict[str, int]:
        calls.append(x)
        return {"x": x, "call": len(calls)}

    return body


# -- configuration -------------------------------------------------------------------------------


def test_near_is_configured_by_keyword_or_url(redis_url: str) -> None:
    by_url = redmemo.Cache(redis_url + "?near=true&near_maxsize=5&near_ttl=2s")
    by_keyword = redmemo.Cache(redis_url, near=redmemo.NearCache(maxsize=7, policy="sieve"))
    off = redmemo.Cache(redis_url + "?near=false")
    try:
        assert by_url.near is not None
        assert by_url.near.settings.maxsize == 5
        assert by_url.near.settings.ttl == 2.0
        assert by_keyword.near is not None
        assert by_keyword.near.settings.maxsize == 7
        assert by_keyword.near.settings.policy.name == "sieve"
        assert off.near is None
        # The memory backend is in-process already: near asks for nothing more there.
        assert redmemo.Cache("memory://", near=True).near is None
    finally:
        for cache in (by_url, by_keyword, off):
            cache.close()


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"maxsize": 0}, "maxsize"),
        ({"maxsize": True}, "maxsize"),
        ({"max_bytes": -1}, "max_bytes"),
        ({"ttl": 0}, "ttl"),
        ({"policy": "belady"}, "belady"),
    ],
)
def test_bad_near_settings_are_refused_by_name(settings: dict[str, Any], named: str) -> None:
    with pytest.raises((ConfigurationError, ValueError), match=named):
        redmemo.NearCache(**settings)


def test_near_must_be_a_bool_or_settings(redis_url: str) -> None:
    with pytest.raises(ConfigurationError, match="near must be True, False or"):
        redmemo.Cache(redis_url, near="yes")  # type: ignore[arg-type]


# -- hits ----------------------------------------------------------------------------------------


def test_a_copy_is_served_without_redis(
    make_cache: Callable[..., redmemo.Cache], mode: str, loop: asyncio.AbstractEventLoop
) -> None:
    recorder = Recorder()
    cache = tracked(make_cache(near=True, hooks=[recorder]))
    f = Decorated(cache, mode, loop, counter(), ttl=60)
    assert f(1) == {"x": 1, "call": 1}  # computed, stored
    assert copied(lambda: f(1), f.key(1), cache) == {"x": 1, "call": 1}  # from Redis, kept
    recorder.events.clear()
    for _ in range(50):
        assert f(1) == {"x": 1, "call": 1}
    assert recorder.commands() == []  # not one command reached the backend
    hits = recorder.of(Hit)
    assert len(hits) == 50
    assert all(hit.near for hit in hits)
    stats = cache.stats()
    assert stats["near_hits"] == 50
    assert stats["hits"] >= 51


def test_store_api_reads_your_writes(
    make_cache: Callable[..., redmemo.Cache], mode: str, loop: asyncio.AbstractEventLoop
) -> None:
    from tests.conftest import Face

    cache = tracked(make_cache(near=True))
    store = Face(cache, mode, loop)
    store.set("k", "one")
    assert copied(lambda: store.get("k"), cache.full_key("k"), cache) == "one"
    store.set("k", "two")  # the copy goes before set returns
    assert store.get("k") == "two"
    store.delete("k")
    assert store.get("k") is None
    store.set("k", "three")
    assert store.get("k") == "three"
    store.clear()
    assert len(cache.near) == 0  # type: ignore[arg-type]
    assert store.get("k") is None


def test_another_cache_changes_reach_the_copy(
    make_cache: Callable[..., redmemo.Cache], mode: str, loop: asyncio.AbstractEventLoop
) -> None:
    reader = tracked(make_cache(near=True))
    writer = make_cache(namespace=reader.namespace)
    f = Decorated(reader, mode, loop, counter(), ttl=60, name="f")
    assert f(1)["call"] == 1
    key = f.key(1)
    assert copied(lambda: f(1), key, reader)["call"] == 1
    writer.invalidate(key)
    assert until(lambda: key not in reader.near)  # type: ignore[operator]
    assert f(1)["call"] == 2
    writer.set("plain", 1)
    assert copied(lambda: reader.get("plain"), reader.full_key("plain"), reader) == 1
    writer.set("plain", 2)
    assert until(lambda: reader.get("plain") == 2)


def test_own_invalidations_by_tag_function_and_pattern_land_before_they_return(
    make_cache: Callable[..., redmemo.Cache], mode: str, loop: asyncio.AbstractEventLoop
) -> None:
    """A member dropped by a tag, the function or a dependency is known only to Redis;
    the barrier makes its invalidation reach this process's copies before returning."""
    cache = tracked(make_cache(near=True))
    f = Decorated(cache, mode, loop, counter(), ttl=60, tags=["t:{x}"], name="f")
    rounds = {"tag": 0, "function": 0, "pattern": 0}
    for how in rounds:
        for _ in range(5):
            before = f(1)["call"]
            assert copied(lambda: f(1), f.key(1), cache)["call"] == before
            if how == "tag":
                cache.invalidate_tags(["t:1"])
            elif how == "function":
                f.wrapped.invalidate_all() if mode == "sync" else loop.run_until_complete(
                    f.wrapped.invalidate_all()
                )
            else:
                cache.invalidate_pattern(f.key(1).split("{", 1)[1].rstrip("}"))
            assert f(1)["call"] == before + 1, how  # at once: no copy outlived it
            rounds[how] += 1
    assert rounds == {"tag": 5, "function": 5, "pattern": 5}


def test_a_function_with_near_false_is_never_copied(
    make_cache: Callable[..., redmemo.Cache], mode: str, loop: asyncio.AbstractEventLoop
) -> None:
    cache = tracked(make_cache(near=True))
    far = Decorated(cache, mode, loop, counter(), ttl=60, near=False, name="far")
    near = Decorated(cache, mode, loop, counter(), ttl=60, name="near")
    near(1)
    copied(lambda: near(1), near.key(1), cache)
    assert near(1)["call"] == 1
    assert near.wrapped.stats()["near_hits"] >= 1
    for _ in range(5):
        assert far(1)["call"] == 1
    assert far.key(1) not in cache.near  # type: ignore[operator]
    assert far.wrapped.stats()["near_hits"] == 0


# -- the in-flight race --------------------------------------------------------------------------


def _base_backend(cache: redmemo.Cache, mode: str, loop: asyncio.AbstractEventLoop) -> Any:
    family = cache._runtime.stack.family  # type: ignore[union-attr]
    if mode == "sync":
        return family.sync()

    async def base() -> Any:
        return family.async_()

    return loop.run_until_complete(base())


def test_a_reply_older_than_an_invalidation_is_not_kept(
    make_cache: Callable[..., redmemo.Cache], mode: str, loop: asyncio.AbstractEventLoop
) -> None:
    """The read is answered (old value); then another client changes the key and its
    invalidation reaches this process; only then does the read's reply arrive. The reply
    is returned (it was true when read) but must not be kept as a copy."""
    cache = tracked(make_cache(near=True))
    writer = make_cache(namespace=cache.namespace)
    writer.set("k", "old")
    key = cache.full_key("k")
    base = _base_backend(cache, mode, loop)
    original = base.get
    invalidations = cache.near.stats()["near_invalidations"]  # type: ignore[union-attr]

    def overtaken() -> None:
        writer.set("k", "new")
        seen = lambda: cache.near.stats()["near_invalidations"] > invalidations  # type: ignore[union-attr]  # noqa: E731
        assert until(seen)

    if mode == "sync":

        def late_get(k: str) -> Any:
            raw = original(k)
            overtaken()
            return raw
    else:

        async def late_get(k: str) -> Any:
            raw = await original(k)
            await asyncio.to_thread(overtaken)
            return raw

    base.get = late_get
    try:
        from tests.conftest import Face

        store = Face(cache, mode, loop)
        assert store.get("k") == "old"
    finally:
        del base.get
    assert key not in cache.near  # type: ignore[operator]
    assert copied(lambda: store.get("k"), key, cache) == "new"  # and a later read is kept


# -- losing the connection -----------------------------------------------------------------------


def _tracking_ids(client: redis.Redis) -> list[str]:
    return [
        str(c["id"])
        for c in client.client_list()  # type: ignore[no-untyped-call]
        if c.get("name") == CLIENT_NAME
    ]


def test_a_killed_tracking_connection_flushes_and_resumes(
    redis_url: str, mode: str, loop: asyncio.AbstractEventLoop
) -> None:
    recorder = Recorder()
    cache = tracked(redmemo.Cache(redis_url, near=True, hooks=[recorder]))
    writer = redmemo.Cache(redis_url)
    admin = redis.Redis.from_url(redis_url)
    try:
        f = Decorated(cache, mode, loop, counter(), ttl=60, name="f")
        f(1)
        copied(lambda: f(1), f.key(1), cache)
        ids = _tracking_ids(admin)
        assert len(ids) == 1
        connected = cache.near.connected  # type: ignore[union-attr]
        for client_id in ids:
            admin.client_kill_filter(_id=client_id)
        assert until(lambda: any(e.reason == "connection" for e in recorder.of(NearFlushed)))
        assert f.key(1) not in cache.near  # type: ignore[operator]
        assert until(lambda: connected.is_set() and len(_tracking_ids(admin)) == 1)
        copied(lambda: f(1), f.key(1), cache)  # copied again, under the new connection
        writer.invalidate(f.key(1))  # heard through the new connection
        assert until(lambda: f.key(1) not in cache.near)  # type: ignore[operator]
        assert f(1)["call"] == 2
    finally:
        if mode == "async":
            loop.run_until_complete(cache.aclose())
        cache.close()
        writer.close()
        admin.close()


def test_a_restarted_server_never_leaves_a_stale_copy(
    mode: str, loop: asyncio.AbstractEventLoop
) -> None:
    server = start_redis()
    cache = writer = None
    try:
        cache = tracked(redmemo.Cache(server.url, near=True))
        f = Decorated(cache, mode, loop, counter(), ttl=60, name="f")
        assert f(1)["call"] == 1
        assert copied(lambda: f(1), f.key(1), cache)["call"] == 1
        port = server.port
        server.stop()
        assert until(lambda: not cache.near.ready)  # type: ignore[union-attr]
        server = start_redis(port=port)  # empty: the entry is gone
        assert cache.near.connected.wait(15)  # type: ignore[union-attr]
        writer = redmemo.Cache(server.url)
        writer.set("unrelated", 1)
        assert f(1)["call"] == 2  # computed again: the old copy did not survive
    finally:
        if cache is not None:
            if mode == "async":
                loop.run_until_complete(cache.aclose())
            cache.close()
        if writer is not None:
            writer.close()
        server.stop()


@pytest.mark.slow
def test_a_paused_server_is_doubted_and_flushed(redis_url: str) -> None:
    """SIGSTOP: the connection stays open but nothing answers; three missed PINGs later
    the near cache is flushed, and it resumes once the server does."""
    server = start_redis()
    recorder = Recorder()
    cache = tracked(redmemo.Cache(server.url, near=True, hooks=[recorder]))
    try:
        f = cache(ttl=60)(counter())
        f(1)
        copied(lambda: f(1), f.key(1), cache)
        os.kill(server.process.pid, 19)  # SIGSTOP
        try:
            assert until(lambda: bool(recorder.of(NearFlushed)), timeout=15)
            assert f.key(1) not in cache.near  # type: ignore[operator]
        finally:
            os.kill(server.process.pid, 18)  # SIGCONT
        assert cache.near.connected.wait(15)  # type: ignore[union-attr]
        assert f(1)["call"] == 1  # Redis still holds it
    finally:
        cache.close()
        server.stop()


# -- bounds and ages -----------------------------------------------------------------------------


def test_copies_are_bounded_by_count_and_bytes(redis_url: str) -> None:
    recorder = Recorder()
    cache = tracked(
        redmemo.Cache(
            redis_url, near=redmemo.NearCache(maxsize=3, max_bytes=10_000), hooks=[recorder]
        )
    )
    try:
        for i in range(10):
            cache.set(f"k{i}", "v" * 100)
        for i in range(10):
            copied(lambda i=i: cache.get(f"k{i}"), cache.full_key(f"k{i}"), cache)
        assert len(cache.near) == 3  # type: ignore[arg-type]
        assert sum(e.evicted for e in recorder.of(NearEvicted)) == 7
        assert cache.stats()["near_evictions"] == 7
        cache.set("big", "v" * 20_000)  # larger than the whole near cache
        assert cache.get("big") == "v" * 20_000
        assert cache.full_key("big") not in cache.near  # type: ignore[operator]
        assert cache.near.bytes <= 10_000  # type: ignore[union-attr]
    finally:
        cache.close()


def test_the_local_ttl_ends_a_copy(redis_url: str) -> None:
    cache = tracked(redmemo.Cache(redis_url, near=redmemo.NearCache(ttl=0.2)))
    try:
        f = cache(ttl=60)(counter())
        f(1)
        copied(lambda: f(1), f.key(1), cache)
        f(1)
        hits = f.stats()["near_hits"]
        assert hits >= 1
        time.sleep(0.3)
        assert f(1)["call"] == 1  # from Redis: the copy was past its local ttl
        assert f.stats()["near_hits"] == hits
    finally:
        cache.close()


def test_a_stale_copy_is_refreshed_once(
    make_cache: Callable[..., redmemo.Cache], mode: str, loop: asyncio.AbstractEventLoop
) -> None:
    cache = tracked(make_cache(near=True))
    f = Decorated(cache, mode, loop, counter(), ttl=60, refresh=0.3)
    assert f(1)["call"] == 1
    assert copied(lambda: f(1), f.key(1), cache)["call"] == 1
    time.sleep(0.4)
    assert f(1)["call"] == 1  # stale: served, one refresh started
    assert f.settle(lambda: f(1)["call"] == 2)
    f.quiesce()
    assert f.wrapped.stats()["refreshes"] == 1


# -- faces, threads, loops, processes ------------------------------------------------------------


def test_sync_async_threads_and_loops_share_one_near_cache(redis_url: str) -> None:
    cache = tracked(redmemo.Cache(redis_url, near=True))
    writer = redmemo.Cache(redis_url)
    try:
        calls: list[int] = []

        @cache(ttl=60, name="g")
        def g(x: int) -> int:
            calls.append(x)
            return len(calls)

        @cache(ttl=60, name="ag")
        async def ag(x: int) -> int:
            calls.append(x)
            return len(calls)

        seen: list[tuple[int, int]] = []

        def worker() -> None:
            for _ in range(3):
                seen.append((g(1), asyncio.run(ag(1))))

        threads = [threading.Thread(target=worker) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(calls) == 2  # one computation each, across threads and 18 loops
        assert len(set(seen)) == 1
        assert cache.stats()["near_hits"] > 0
        writer.invalidate(g.key(1), ag.key(1))
        assert until(lambda: g.key(1) not in cache.near and ag.key(1) not in cache.near)  # type: ignore[operator]
        assert asyncio.run(ag(1)) == 3
        assert g(1) == 4
    finally:
        cache.close()
        writer.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX only")
def test_a_forked_child_starts_with_no_copies(redis_url: str) -> None:
    cache = tracked(redmemo.Cache(redis_url, near=True))
    try:
        f = cache(ttl=60)(counter())
        f(1)
        copied(lambda: f(1), f.key(1), cache)
        pid = os.fork()
        if pid == 0:  # the child: nothing it inherited may be served untracked
            code = 0
            try:
                if len(cache.near) != 0 or cache.near.ready:  # type: ignore[arg-type, union-attr]
                    code = 2
                elif f(1)["call"] != 1:
                    code = 3
                else:
                    f(1)
                    code = 0 if cache.near.connected.wait(10) else 4  # type: ignore[union-attr]
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert f.key(1) in cache.near  # type: ignore[operator]
    finally:
        cache.close()


# -- coherence across processes ------------------------------------------------------------------

# How late an invalidation may reach another process's near cache, at most, in this test:
# measured on loopback at well under a millisecond typically (benchmarks/bench_near.py);
# this bound leaves room for a loaded two-core CI machine.
DELIVERY_WINDOW = 1.0


def _run(role: str, url: str, namespace: str, writes: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.near_coherence", role, url, namespace, str(writes)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _report(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return report


@pytest.mark.slow
def test_readers_in_other_processes_never_serve_a_replaced_value_for_long(
    server_url: str,
) -> None:
    """A writer process updates and deletes a key in a loop; two reader processes with
    near caches read it as fast as they can. No read returns a value older than one the
    reader already saw replaced, for longer than the delivery window."""
    namespace = "coherence-" + uuid.uuid4().hex[:8]
    writes = 300
    readers = [_run("reader", server_url, namespace, writes) for _ in range(2)]
    for process in readers:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
    writer = _run("writer", server_url, namespace, writes)
    assert _report(writer)["writes"] == writes
    for process in readers:
        report = _report(process)
        assert report["reads"] > writes
        assert report["near_hits"] > 0  # the near cache did serve
        assert report["longest"] < DELIVERY_WINDOW, report


def test_batch_functions_read_copies_and_near_false_keeps_none(
    make_cache: Callable[..., redmemo.Cache],
) -> None:
    recorder = Recorder()
    cache = tracked(make_cache(near=True, hooks=[recorder]))
    loads: list[list[int]] = []

    @cache.multi_cached("ids", ttl=60, name="near_batch")
    def load(ids: list[int]) -> dict[int, str]:
        loads.append(list(ids))
        return {i: f"v{i}" for i in ids}

    @cache.multi_cached("ids", ttl=60, name="far_batch", near=False)
    def load_far(ids: list[int]) -> dict[int, str]:
        return {i: f"w{i}" for i in ids}

    assert load([1, 2, 3]) == {1: "v1", 2: "v2", 3: "v3"}
    settle(cache)
    assert load([1, 2, 3]) == {1: "v1", 2: "v2", 3: "v3"}  # read from Redis, kept
    recorder.events.clear()
    assert load([1, 2, 3]) == {1: "v1", 2: "v2", 3: "v3"}
    assert recorder.commands() == []  # served from the copies
    assert loads == [[1, 2, 3]]
    assert load_far([1, 2]) == {1: "w1", 2: "w2"}
    settle(cache)
    assert load_far([1, 2]) == {1: "w1", 2: "w2"}
    assert len(cache.near) == 3  # type: ignore[arg-type]


def test_near_hits_count_as_uses_of_a_bound(redis_url: str) -> None:
    """An LRU-bounded function: a hit served from a copy is a use in Redis's bookkeeping
    too, so the entry used last is not the one evicted."""
    cache = tracked(redmemo.Cache(redis_url, near=True))
    try:
        f = cache(ttl=60, maxsize=3, policy="lru")(counter())
        for x in (1, 2, 3):
            f(x)
        for x in (1, 2, 3):
            copied(lambda x=x: f(x), f.key(x), cache)  # read from Redis in this order
        hits = f.stats()["near_hits"]
        f(1)  # a near hit: 1 is now the most recently used
        assert f.stats()["near_hits"] == hits + 1
        f(4)  # stores, evicting the least recently used: 2
        with redis.Redis.from_url(redis_url) as client:
            assert [bool(client.exists(f.key(x))) for x in (1, 2, 3, 4)] == [
                True,
                False,
                True,
                True,
            ]
    finally:
        cache.close()
