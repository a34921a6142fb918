"""redmemo as a Django cache backend: Django's own backend tests, then what they do not
cover (the async face, get_or_set across processes, failures, configuration)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

import redmemo
from redmemo.contrib.django import RedmemoCache
from tests.support.django_release import django_tests_dir
from tests.support.servers import direct_client

ROOT = Path(__file__).resolve().parents[2]
SUITE = Path(__file__).with_name("django_base_cache_tests.py")
CULLING = "Culling isn't implemented."


def _backend(url: str, **options: Any) -> RedmemoCache:
    return RedmemoCache(url, {"OPTIONS": options} if options else {})


@pytest.mark.slow
def test_djangos_own_backend_tests_pass(redis_or_cluster_url: str) -> None:
    done = subprocess.run(
        [sys.executable, str(SUITE), redis_or_cluster_url, str(django_tests_dir())],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["failures"] == [], report["failures"]
    assert report["errors"] == [], report["errors"]
    # Only the culling tests skip, and they say why: their aliases set MAX_ENTRIES, which
    # redmemo refuses (Django's own Redis backend is run without them too).
    assert sorted(report["skipped"]) == [
        ["test_cull", CULLING],
        ["test_cull_delete_when_store_empty", CULLING],
        ["test_zero_cull", CULLING],
    ]
    assert report["run"] >= 50  # BaseCacheTests of Django 5.2 has 54
    print(f"Django BaseCacheTests: {report['run']} run, {len(report['skipped'])} skipped")


@pytest.mark.redis
def test_the_async_face_keeps_djangos_conventions(redis_url: str) -> None:
    cache = _backend(redis_url)

    async def scenario() -> None:
        await cache.aset("a", {"x": 1})
        assert await cache.aget("a") == {"x": 1}
        assert await cache.aget("missing", "dflt") == "dflt"
        await cache.aset("none", None)
        assert await cache.aget("none", "dflt") is None
        assert await cache.aadd("a", 2) is False
        assert await cache.aadd("b", 2) is True
        assert await cache.aadd("zero", 1, timeout=0) is True  # free, though nothing stays
        assert await cache.ahas_key("zero") is False
        assert await cache.aget_many(["a", "b", "nope"]) == {"a": {"x": 1}, "b": 2}
        assert await cache.aset_many({"c": 3, "d": 4}, timeout=None) == []
        assert await cache.aincr("c", 10) == 13
        assert await cache.adecr("c") == 12
        with pytest.raises(ValueError, match="not found"):
            await cache.aincr("nope")
        with pytest.raises(TypeError):
            await cache.aincr("a")
        assert await cache.atouch("c", timeout=0) is True
        assert await cache.ahas_key("c") is False
        assert await cache.adelete("d") is True
        assert await cache.adelete("d") is False
        await cache.adelete_many(["a", "b"])
        assert await cache.aget_many(["a", "b"]) == {}
        assert await cache.aget_or_set("made", lambda: "fresh", timeout=60) == "fresh"
        assert await cache.aget_or_set("made", lambda: "other") == "fresh"
        await cache.aclear()
        assert await cache.aget("made") is None
        await cache.redmemo.aclose()

    asyncio.run(scenario())
    # The sync face sees what the async one wrote, under Django's key layout.
    cache.set("shared", 5, timeout=None)
    assert cache.redmemo.get(":1:shared") == 5
    assert cache.redmemo.ttl(":1:shared") is None  # None: kept forever
    cache.redmemo.close()


@pytest.mark.redis
def test_get_or_set_computes_a_cold_key_once_across_threads_and_loops(redis_url: str) -> None:
    cache = _backend(redis_url)
    calls: list[int] = []
    lock = threading.Lock()

    def make() -> str:
        with lock:
            calls.append(1)
        time.sleep(0.3)
        return "value"

    results: list[Any] = []

    def sync_caller() -> None:
        results.append(cache.get_or_set("cold", make, timeout=60))

    def async_caller() -> None:
        async def many() -> list[Any]:
            got = await asyncio.gather(*(cache.aget_or_set("cold", make, 60) for _ in range(20)))
            await cache.redmemo.aclose()
            return list(got)

        results.extend(asyncio.run(many()))

    threads = [threading.Thread(target=sync_caller) for _ in range(10)]
    threads += [threading.Thread(target=async_caller) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["value"] * 70
    assert len(calls) == 1
    cache.redmemo.close()


_WORKER = textwrap.dedent(
    """
    import sys, time
    from redmemo.contrib.django import RedmemoCache
    import redis
    url, start = sys.argv[1], float(sys.argv[2])
    cache = RedmemoCache(url, {})
    counter = redis.Redis.from_url(url)
    def make():
        counter.incr("made")  # outside the namespace: counts computations
        time.sleep(0.5)
        return "shared"
    time.sleep(max(0.0, start - time.time()))
    print(cache.get_or_set("report", make, timeout=60))
    """
)


@pytest.mark.redis
def test_get_or_set_computes_a_cold_key_once_across_processes(redis_url: str) -> None:
    start = time.time() + 1.5  # all processes imported and waiting by then
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, redis_url, str(start)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = []
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        outputs.append(out.strip())
    assert outputs == ["shared"] * 4
    with direct_client(redis_url) as client:
        assert int(client.get("made")) == 1


def test_an_unreachable_redis_is_a_miss_unless_fail_open_is_off() -> None:
    url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    cache = _backend(url)
    assert cache.get("k", "dflt") == "dflt"
    cache.set("k", 1)  # nothing raised
    assert cache.add("k", 1) is False
    assert cache.has_key("k") is False
    assert cache.get_many(["k", "j"]) == {}
    assert cache.set_many({"k": 1, "j": 2}) == ["k", "j"]  # Django: the keys not stored
    assert cache.get_or_set("k", lambda: "made") == "made"
    with pytest.raises(redmemo.BackendError):
        cache.incr("k")  # no counter value can be made up
    strict = _backend(url, fail_open=False)
    with pytest.raises(redmemo.BackendError):
        strict.get("k")
    with pytest.raises(redmemo.BackendError):
        strict.set("k", 1)
    cache.redmemo.close()
    strict.redmemo.close()


def test_configuration_errors_name_what_was_wrong() -> None:
    with pytest.raises(ImproperlyConfigured, match="one LOCATION URL, got 2"):
        RedmemoCache("redis://a:6379/0;redis://b:6379/0", {})
    with pytest.raises(ImproperlyConfigured, match="MAX_ENTRIES"):
        RedmemoCache("memory://", {"OPTIONS": {"MAX_ENTRIES": 10}})
    with pytest.raises(ImproperlyConfigured, match="no_such_option"):
        RedmemoCache("memory://", {"OPTIONS": {"no_such_option": 1}})
    cache = RedmemoCache(["memory://"], {"OPTIONS": {"namespace": "mine"}, "TIMEOUT": 7})
    assert cache.redmemo.namespace == "mine"
    cache.set("k", "v")
    assert cache.redmemo.ttl(":1:k") == pytest.approx(7, abs=0.5)


@pytest.mark.redis
def test_clear_removes_the_backends_namespace_only(redis_url: str) -> None:
    django_cache = _backend(redis_url)
    other = redmemo.Cache(redis_url)  # namespace "redmemo"
    django_cache.set("k", 1)
    other.set("k", 2)
    django_cache.clear()
    assert django_cache.get("k") is None
    assert other.get("k") == 2
    other.close()
    django_cache.redmemo.close()


@pytest.mark.redis
def test_the_backends_cache_decorates_service_functions(redis_url: str) -> None:
    django_cache = _backend(redis_url)
    calls: list[int] = []

    @django_cache.redmemo(ttl=60, key="total:{n}")
    def total(n: int) -> int:
        calls.append(n)
        return n * 2

    assert total(3) == 6
    assert total(3) == 6
    assert calls == [3]
    assert django_cache.redmemo.get("total:3") == 6  # one keyspace with the backend
    django_cache.redmemo.close()
